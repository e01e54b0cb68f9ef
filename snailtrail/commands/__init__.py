"""One module per command: parse, call the domain, render. Each command is a function whose docstring is
its help; snailtrail/cli.py registers them in the order `--help` lists them."""
