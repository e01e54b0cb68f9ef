"""One module per command: parse, call the domain, render. Each exposes ``register(app)``."""
