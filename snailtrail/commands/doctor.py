"""snailtrail doctor"""

from __future__ import annotations

import typer

from snailtrail.global_options import GlobalOptions


def doctor(ctx: typer.Context) -> None:
    """Check, read-only, that the environment's account is ready for a deploy: who the caller is (against the
    environment's account_id), the state table, the cluster, the roles (trusting ecs-tasks.amazonaws.com), the ECR
    repository, the log group, the listener and the target groups' type. Each failure says its fix. Exit 0 when
    nothing fails, 1 otherwise.
    """
    from snailtrail.checks.view import LiveView
    from snailtrail.commands.verify import output_report
    from snailtrail.infra.preflight import run_preflight

    state: GlobalOptions = ctx.obj
    context = state.context()
    report = run_preflight(LiveView(context))
    environment = context.settings.environment_name
    document = {
        "ok": report.ok,
        "environment": environment,
        "checks": [result.to_json() | {"layer": spec.layer} for spec, result in report.results],
        "api_calls": report.api_calls,
    }
    output_report(state, report, document, environment, "doctor")
