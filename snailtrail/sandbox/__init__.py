"""The embedded environment: moto's control plane, a reconciler playing the ECS agent, a front door.

Its dependencies are the `sandbox` extra: a production install (`pip install snailtrail`) has none of
them, and nothing outside this package imports it but for a sandbox environment.
"""

from importlib.util import find_spec

from snailtrail.errors import ConfigError

# moto's server mode is a Flask application (moto[server]).
SANDBOX_MODULES = ("moto", "flask", "flask_cors")

_missing = [name for name in SANDBOX_MODULES if find_spec(name) is None]
if _missing:
    raise ConfigError(
        f"the sandbox needs the `sandbox` extra ({', '.join(_missing)} not installed)",
        fix="pip install 'snailtrail[sandbox]', or use an environment of kind aws",
    )
