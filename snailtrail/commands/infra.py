"""snailtrail infra plan | up"""

from __future__ import annotations

import typer

from snailtrail.global_options import GlobalOptions

infra_app = typer.Typer(
    help="The environment's infrastructure: one CloudFormation stack from the repository's template "
    "(snailtrail/templates/environment.yaml), its names taken from snailtrail.yaml.",
    no_args_is_help=True,
)

CI_OPTION = typer.Option(
    False, "--ci", help="The GitHub Actions stack instead: OIDC provider, deploy and verify roles with their policies."
)


def _run(state: GlobalOptions, ci: bool, execute: bool) -> None:
    from snailtrail.infra.account_guard import require_account
    from snailtrail.infra.ci_stack import ci_stack_inputs
    from snailtrail.infra.stack import StackRun
    from snailtrail.infra.template import configuration_mismatches, stack_inputs

    context = state.context()
    settings = context.settings
    if ci:
        from snailtrail.infra.iam_account import account_resources

        # The roles' policies name the roles of the service's older verified revisions, read from the account.
        inputs = ci_stack_inputs(settings, context.phases, account_resources(context))
    else:
        inputs = stack_inputs(settings, context.phases)
    if execute:
        require_account(context)
    run = StackRun(
        context.clients,
        inputs,
        poll_interval_s=context.default_poll_interval_s,
        on_event=context.reporter.note,
    )
    result = run.up() if execute else run.plan()
    mismatches = [] if ci else configuration_mismatches(settings, result.outputs)
    for mismatch in mismatches:
        context.reporter.warn(mismatch)
    document = {"ok": True, "environment": settings.environment_name, "configuration_mismatches": mismatches}
    state.output(document | result.to_json(), result.render())


def plan(ctx: typer.Context, ci: bool = CI_OPTION) -> None:
    """Show what `infra up` would change, as CloudFormation's change set: + added, ~ modified (with each property's
    value before and after), - removed. Nothing is executed; the change set is deleted again.
    """
    _run(ctx.obj, ci, execute=False)


def up(ctx: typer.Context, ci: bool = CI_OPTION) -> None:
    """Create or update the environment's stack: the change set is executed, the stack's events stream as progress,
    and a failed resource is named with CloudFormation's reason (exit 1). A second run says "no changes".
    """
    _run(ctx.obj, ci, execute=True)


infra_app.command("plan")(plan)
infra_app.command("up")(up)
