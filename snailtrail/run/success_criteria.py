"""A phase's success criteria, judged after a rollout: HTTP probes and the new tasks' target health.

Not the ``verify`` command (snailtrail/checks/): these judge the phase's own ``success`` block once its
revision runs, for the deploy's and the rollback's ``verify`` step and a native deployment's ``test`` and
``production`` steps.
"""

from __future__ import annotations

from typing import Any

from snailtrail.aws.ecs import TAG_VERIFIED
from snailtrail.checks.base import CheckResult
from snailtrail.checks.criteria import http_probes, ml_mode_criterion, retry_until, target_health_criterion
from snailtrail.config.phases import Phase
from snailtrail.context import Context
from snailtrail.plan.steps import StepFailed
from snailtrail.state.trail import now_iso


def wanted_healthy_targets(phase: Phase) -> int:
    """The phase's ``success.healthy_targets``, else its desired count."""
    wanted = phase.manifest.success.healthy_targets
    return phase.container.desired_count if wanted is None else wanted


def judge_criteria(
    ctx: Context,
    phase: Phase,
    arn: str,
    new_tasks: list[dict[str, Any]],
    judged: list[CheckResult],
    target_group_arn: str | None = None,
    base_url: str | None = None,
) -> str:
    """HTTP probes at ``base_url`` (default: the public URL), and the health of ``new_tasks`` of ``arn`` in
    ``target_group_arn`` (default: the service's target group; a native deployment's new revision may be in
    the alternate one). Each result is appended to ``judged``; raises StepFailed when any fails."""
    checks: list[CheckResult] = []
    url = base_url or ctx.public_url()
    trust = ctx.endpoints.ca_file
    checks.extend(http_probes(phase, url, ca_file=trust))
    if phase.manifest.success.ml_mode is not None:
        checks.append(ml_mode_criterion(phase, url, ca_file=trust))
    wanted = wanted_healthy_targets(phase)
    lb = ctx.settings.service.load_balancer
    if wanted:
        group_arn = target_group_arn or _service_group_arn(ctx, lb.target_group)
        tasks = [t for t in new_tasks if t.get("taskDefinitionArn") == arn]
        # Once a native deployment has finished, production may run in the alternate group, and ECS registers a
        # later rolling deployment's tasks there: read only when the service's own group does not have them.
        native = target_group_arn is None and lb.test_listener_port is not None
        alternate: list[str] = []

        def judge() -> tuple[CheckResult, str | None]:
            # A target still registering is not yet a failure: asked again like the HTTP probes.
            health = target_health_criterion(ctx.elbv2.target_health(group_arn), group_arn, tasks, wanted)
            if health.failed and native:
                alternate[:] = alternate or [_service_group_arn(ctx, lb.alternate)]
                elsewhere = target_health_criterion(ctx.elbv2.target_health(alternate[0]), alternate[0], tasks, wanted)
                health = health if elsewhere.failed else elsewhere
            return health, health.summary if health.failed else None

        criteria = phase.manifest.success
        checks.append(retry_until(judge, criteria.attempts, criteria.interval_s)[0])
    judged.extend(checks)
    broken = [c for c in checks if c.failed]
    if broken:
        raise StepFailed(
            f"{len(broken)} success criteria failed: " + "; ".join(c.summary for c in broken), fix=broken[0].fix
        )
    return f"{len(checks)} success criteria passed"


def _service_group_arn(ctx: Context, name: str) -> str:
    target_group = ctx.elbv2.target_group(name)
    if target_group is None:
        raise StepFailed(f"the service's target group {name} is gone", fix="recreate it; `snailtrail verify` says more")
    return str(target_group["TargetGroupArn"])


def mark_verified(ctx: Context, arn: str) -> str:
    """Tag the revision verified, now: from then on it is a rollback target."""
    at = now_iso()
    ctx.ecs.tag(arn, {TAG_VERIFIED: at})
    ctx.history.add_tags(arn, {TAG_VERIFIED: at})
    return f"tagged {arn.rsplit('/', 1)[-1]} verified at {at}"
