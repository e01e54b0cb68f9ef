"""Task and app checks: target health, the phase's success criteria, ML mode."""

from __future__ import annotations

from snailtrail.checks.base import Verdict, fail, ok, skip
from snailtrail.checks.criteria import http_probes, ml_mode_criterion, target_health_criterion
from snailtrail.checks.spec import check
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.errors import ConfigError


@check(
    "target health", "task", prevents="2, 8: the service was healthy in ECS but unreachable through the load balancer"
)
def target_health(view: LiveView, phase: Phase | None) -> Verdict:
    """Every running task is a healthy target of the service's target group (awsvpc tasks by IP)."""
    group = view.target_group()
    tasks = view.tasks()
    if group is None:
        return fail("the target group does not exist", "see `target group attached`")
    if not tasks:
        return fail("no running tasks", "see the service's events: snailtrail status")
    return target_health_criterion(view.target_health(), group["TargetGroupArn"], tasks, len(tasks)).verdict


@check("success criteria", "app", prevents="12: 'complete' was declared without calling the public endpoint")
def success_criteria(view: LiveView, phase: Phase | None) -> Verdict:
    """The phase's HTTP probes pass through the environment's public endpoint."""
    if phase is None:
        return skip("no phase to judge (the running revision has no phase tag; pass --phase)")
    try:
        base = view.ctx.public_url()
    except ConfigError as exc:
        return skip(exc.message)
    results = http_probes(phase, base, attempts=1, ca_file=view.ctx.endpoints.ca_file)
    broken = [r for r in results if r.failed]
    resources = [res for r in results for res in r.resources]
    if broken:
        return fail("; ".join(r.summary for r in broken), broken[0].fix or "", resources)
    return ok(f"{len(results)} probe(s) of {phase.name} pass through {base}", resources)


@check("ml mode", "app", prevents="the ML service ran degraded where the phase does not allow it")
def ml_mode(view: LiveView, phase: Phase | None) -> Verdict:
    """/ml/status reports a mode the phase accepts; degraded only where the phase allows it."""
    if phase is None or phase.manifest.success.ml_mode is None:
        return skip("the phase sets no ML expectations")
    try:
        return ml_mode_criterion(phase, view.ctx.public_url(), attempts=1, ca_file=view.ctx.endpoints.ca_file).verdict
    except ConfigError as exc:
        return skip(exc.message)
