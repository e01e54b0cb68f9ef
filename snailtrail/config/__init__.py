"""snailtrail.yaml and the phase manifests: models, loading, validation, the rules an aws environment must meet,
and adopting a live service into them.
"""
