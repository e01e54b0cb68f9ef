"""Task and app checks: target health, the phase's success criteria, ML mode."""

from __future__ import annotations

from snailtrail.checks.base import CheckResult, failed, passed, skipped
from snailtrail.checks.catalogue import check
from snailtrail.checks.criteria import http_probes, ml_mode_criterion, target_health_criterion
from snailtrail.checks.view import LiveView
from snailtrail.errors import ConfigError
from snailtrail.phases import Phase


@check(
    "target health",
    "task",
    "2, 8: the service was healthy in ECS but unreachable through the load balancer",
    "Every running task is a healthy target of the service's target group (awsvpc tasks by IP).",
)
def target_health(view: LiveView, phase: Phase | None) -> CheckResult:
    group = view.target_group()
    tasks = view.tasks()
    if group is None:
        return failed("target health", "the target group does not exist", "see `target group attached`")
    if not tasks:
        return failed("target health", "no running tasks", "see the service's events: snailtrail status")
    result = target_health_criterion(view.target_health(), group["TargetGroupArn"], tasks, len(tasks))
    return CheckResult("target health", result.status, result.summary, result.fix, result.resources)


@check(
    "success criteria",
    "app",
    "12: 'complete' was declared without calling the public endpoint",
    "The phase's HTTP probes pass through the environment's public endpoint.",
)
def success_criteria(view: LiveView, phase: Phase | None) -> CheckResult:
    if phase is None:
        return skipped("success criteria", "no phase to judge (the running revision has no phase tag; pass --phase)")
    try:
        base = view.ctx.public_url()
    except ConfigError as exc:
        return skipped("success criteria", exc.message)
    results = http_probes(phase, base, attempts=1)
    broken = [r for r in results if r.failed]
    resources = [res for r in results for res in r.resources]
    if broken:
        return failed("success criteria", "; ".join(r.summary for r in broken), broken[0].fix or "", resources)
    return passed("success criteria", f"{len(results)} probe(s) of {phase.name} pass through {base}", resources)


@check(
    "ml mode",
    "app",
    "the ML service ran degraded where the phase does not allow it",
    "/ml/status reports a mode the phase accepts; degraded only where the phase allows it.",
)
def ml_mode(view: LiveView, phase: Phase | None) -> CheckResult:
    if phase is None or phase.manifest.success.ml_mode is None:
        return skipped("ml mode", "the phase sets no ML expectations")
    try:
        return ml_mode_criterion(phase, view.ctx.public_url(), attempts=1)
    except ConfigError as exc:
        return skipped("ml mode", exc.message)
