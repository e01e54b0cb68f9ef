"""snailtrail rollback"""

from __future__ import annotations

from typing import Any, Optional

import typer

from snailtrail.commands.options import DesiredCount, RolloutTimeout
from snailtrail.global_options import GlobalOptions


def render_candidates(document: dict[str, Any]) -> str:
    since = document["current_deployment_started"] or "unknown"
    lines = [f"The service runs {document['current'] or 'nothing'} (its deployment started {since})."]
    if document.get("schema") is not None:
        lines.append(f"The database is at schema {document['schema']} (the trail's last schema.changed).")
    if not document["candidates"]:
        lines.append("No revision has been verified or deployed by snailtrail.")
    for candidate in document["candidates"]:
        mark = "→" if candidate["default"] else ("✓" if candidate["eligible"] else "✗")
        revision = candidate["task_definition"].rsplit("/", 1)[-1]
        lines.append(
            f"  {mark} {revision:<14} {candidate['phase'] or '?':<9} verified {candidate['verified_at'] or '-':<30} "
            + (f"schema {candidate['schema']:<6}" if candidate.get("schema") else "")
            + candidate["reason"]
        )
    return "\n".join(lines)


def rollback(
    ctx: typer.Context,
    to: Optional[str] = typer.Option(None, "--to", help="PHASE (its last verified revision) or TASKDEF_ARN."),
    timeout: RolloutTimeout = None,
    poll_interval: Optional[float] = typer.Option(None, "--poll-interval", min=0.01, hidden=True),
    desired_count: DesiredCount = None,
    list_candidates: bool = typer.Option(
        False,
        "--list",
        help="List the candidates, newest first, with phase, verified time and why each is or is not "
        "eligible; change nothing.",
    ),
) -> None:
    """Return the service to the last verified revision that was live before the current deployment started (or --to a
    phase's last verified revision, or a task-definition ARN), wait and verify it. --list shows the candidates and
    changes nothing. Exit 0 when the restored deployment verifies, 3 when it does not or nothing verified exists.
    """
    from snailtrail.plan.deploy_plan import DeployOptions
    from snailtrail.plan.rollout_budget import rollout_timeout
    from snailtrail.run.rollback_choice import choose_target
    from snailtrail.run.rollback_run import rollback_to
    from snailtrail.run.service_ops import ServiceOps

    state: GlobalOptions = ctx.obj
    context = state.context(needs_aws=False)
    if to is not None and not to.startswith("arn:"):
        context.phase(to)  # a typo in --to is named before any AWS call
    context.require_aws()
    if list_candidates:
        from snailtrail.state.history import current_deployment, rollback_choice

        choice = rollback_choice(context, *current_deployment(context.live_service))
        document = choice.to_json()
        state.output(document, render_candidates(document))
        return
    with context.holding_lock(f"rollback{' --to ' + to if to else ''}"):
        target = choose_target(context, to)
        phase = context.phase_or_none(target.phase)
        budget = rollout_timeout(context, phase.container.health_check.grace_period_s if phase else 0, timeout)
        options = DeployOptions(
            timeout_s=budget.seconds,
            timeout_explained=budget.explanation,
            poll_interval_s=poll_interval or context.default_poll_interval_s,
            desired_count=desired_count,
        )
        ops = ServiceOps.new_run(context, options)
        try:
            reason = f"requested by {'--to ' + to if to else 'operator'}"
            result = rollback_to(context, ops, target, desired_count, reason=reason)
        except KeyboardInterrupt:
            # Said here: typer turns an interrupt into a silent exit 130 before cli.run sees it.
            message = f"interrupted: the service may run {target.arn} unverified; `snailtrail rollback` finishes it"
            ops.run.emit("rollback.interrupted", target.phase, message, ok=False, task_definition=target.arn)
            state.output({"ok": False, "error": "interrupted", "message": message, "exit_code": 130}, "✗ " + message)
            raise typer.Exit(130) from None
    state.output(result.to_json(), ("✓ " if result.ok else "✗ ") + result.message)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
