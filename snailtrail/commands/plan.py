"""snailtrail plan PHASE"""

from __future__ import annotations

from typing import TYPE_CHECKING, Optional

import typer

from snailtrail.global_options import GlobalOptions

if TYPE_CHECKING:
    from snailtrail.plan.deploy_plan import DeployPlan


def render_plan(plan: DeployPlan) -> str:
    lines = [f"Plan: deploy {plan.phase.name} ({plan.phase.short_name}) to {plan.environment}", ""]
    for number, step in enumerate(plan.steps, 1):
        calls = f"  [{', '.join(step.api_calls)}]" if step.api_calls else ""
        lines.append(f"{number}. {step.name:<9}{' (changes AWS)' if step.mutating else ''} {step.summary}{calls}")
    if plan.creates_service:
        lines += ["", "The service does not exist: deploy creates it (needs --yes or create_service_if_missing)."]
    desired = plan.desired
    lines += ["", f"Desired count: {desired.count} ({desired.reason})"]
    if desired.bounds is not None:
        lines.append(
            f"Application Auto Scaling manages the service ({desired.bounds.resource_id}, "
            f"{desired.bounds.minimum}-{desired.bounds.maximum} tasks): the count stays within its bounds."
        )
    if plan.options.timeout_explained:
        lines += ["", f"Rollout timeout: {plan.options.timeout_explained}"]
    target = plan.rollback_target
    lines += [
        "",
        f"On failure: roll back to {target.arn} ({target.phase}, verified {target.verified_at})"
        if target
        else "On failure: no verified deployment exists to roll back to (exit 3).",
    ]
    lines += [
        "",
        "Task definition diff:",
        plan.task_definition_diff() or "  (no change)",
        "",
        "Service diff:",
        plan.service_diff() or "  (no change)",
    ]
    return "\n".join(lines)


def plan(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="phase-N, a unique prefix, or its short name."),
    image: Optional[str] = typer.Option(None, "--image", help="Plan a deploy of this image URI."),
) -> None:
    """Show what `deploy PHASE` would do: its steps, the API calls that change things, and the task-definition and
    service diffs against what is live. Read-only; same as deploy --dry-run.
    """
    from snailtrail.plan.deploy_plan import DeployOptions
    from snailtrail.plan.planner import build_plan
    from snailtrail.plan.rollout_budget import rollout_timeout

    state: GlobalOptions = ctx.obj
    context = state.context(needs_aws=False)
    selected = context.phase(phase)  # a broken phase file or a typo is named before anything else
    context.require_aws()
    budget = rollout_timeout(context, selected.container.health_check.grace_period_s, None)
    options = DeployOptions(image=image, timeout_s=budget.seconds, timeout_explained=budget.explanation)
    deploy_plan = build_plan(context, selected, options)
    state.output(deploy_plan.to_json(), render_plan(deploy_plan))
