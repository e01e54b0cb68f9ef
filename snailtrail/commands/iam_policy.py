"""snailtrail iam-policy"""

from __future__ import annotations

import json

import typer

from snailtrail.global_options import GlobalOptions


def iam_policy(
    ctx: typer.Context,
    purpose: str = typer.Option("deploy", "--for", help="verify or deploy."),
) -> None:
    """Print the least-privilege IAM policy snailtrail needs: --for verify (read-only: verify, status, plan, trail) or
    --for deploy (also deploy and rollback).
    """
    from snailtrail.config import load_settings
    from snailtrail.errors import ConfigError
    from snailtrail.iam import PURPOSES, policy

    if purpose not in PURPOSES:
        raise ConfigError(f"--for {purpose!r} is not one of {', '.join(PURPOSES)}", fix="--for verify or --for deploy")
    state: GlobalOptions = ctx.obj
    document = policy(load_settings(state.config, state.env), purpose)
    typer.echo(json.dumps(document, indent=2))
