"""snailtrail iam-policy"""

from __future__ import annotations

import json

import typer

from snailtrail.global_options import GlobalOptions


def iam_policy(
    ctx: typer.Context,
    purpose: str = typer.Option("deploy", "--for", help="verify or deploy."),
    from_account: bool = typer.Option(
        False,
        "--from-account",
        help="Read the account (read-only) to name the roles of the service's older verified revisions, which a "
        "rollback passes to ECS, beside the configured ones.",
    ),
) -> None:
    """Print the least-privilege IAM policy snailtrail needs: --for verify (read-only: verify, status, plan, trail) or
    --for deploy (also deploy, rollback and run).
    """
    from snailtrail.config.phases import load_phases
    from snailtrail.config.settings import load_settings
    from snailtrail.errors import ConfigError
    from snailtrail.infra.iam_policy import PURPOSES, policy

    if purpose not in PURPOSES:
        raise ConfigError(f"--for {purpose!r} is not one of {', '.join(PURPOSES)}", fix="--for verify or --for deploy")
    state: GlobalOptions = ctx.obj
    settings = load_settings(state.config, state.env)
    account = None
    if from_account:
        from snailtrail.infra.iam_account import account_resources

        account = account_resources(state.context())
    document = policy(settings, purpose, load_phases(settings.phases_path), account)
    typer.echo(json.dumps(document, indent=2))
