"""Checks that explain why tasks are stopped: the load balancer's health-check request, memory, and each of the
task's containers."""

from __future__ import annotations

from typing import Any

from snailtrail.checks.base import Verdict, fail, ok, skip, warn
from snailtrail.checks.service import image_missing
from snailtrail.checks.spec import check
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.plan import container_graph

# The container reason ECS gives a container the kernel killed at its memory limit (Amazon ECS
# developer guide, "Amazon ECS stopped task error messages": OutOfMemoryError: Container killed due
# to memory usage); exit code 137 is SIGKILL (128 + 9), which that kill and a stop timeout both send.
OOM_REASON = "OutOfMemoryError"
SIGKILL_EXIT = 137


def _accepts_200(matcher: str) -> bool:
    """Whether an ALB HttpCode matcher ("200", "200,202", "200-299") accepts 200."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if low.isdigit() and int(low) <= 200 <= int(high if high.isdigit() else low):
            return True
    return False


@check(
    "health check path",
    "target group",
    prevents="tasks stopped for failing ELB health checks their app would have passed",
)
def health_check_path(view: LiveView, phase: Phase | None) -> Verdict:
    """The target group's health check requests the phase's health_check.path over HTTP(S) and expects a 2xx."""
    group = view.target_group()
    if group is None:
        return skip("no target group")
    if phase is None:
        return skip("no phase to compare with")
    name, wanted, arn = group["TargetGroupName"], phase.container.health_check.path, group["TargetGroupArn"]
    modify = f"aws elbv2 modify-target-group --target-group-arn {arn}"
    path, matcher = group.get("HealthCheckPath"), (group.get("Matcher") or {}).get("HttpCode", "200")
    if group.get("HealthCheckProtocol") not in ("HTTP", "HTTPS"):
        return warn(
            f"{name} checks health over {group.get('HealthCheckProtocol')}, so {wanted} is never requested",
            f"{modify} --health-check-protocol HTTP --health-check-path {wanted}",
            [arn],
        )
    if path != wanted:
        return fail(
            f"{name} requests {path}, but {phase.name} answers health on {wanted}",
            f"{modify} --health-check-path {wanted} (or set container.health_check.path in {phase.path.name})",
            [arn],
        )
    if not _accepts_200(str(matcher)):
        return fail(
            f"{name} expects HTTP {matcher} from {path}; the app answers 200 when healthy",
            f"{modify} --matcher HttpCode=200",
            [arn],
        )
    return ok(f"{name} requests {path} and expects {matcher}", [arn])


@check("memory", "task", prevents="tasks killed at the memory limit (exit code 137) and replaced in a loop")
def memory(view: LiveView, phase: Phase | None) -> Verdict:
    """No recently stopped task of the service was killed for memory; names the container's and the task's limits."""
    revision = view.running_revision()
    if revision is None:
        return skip("no task definition")
    container = revision.definition["containerDefinitions"][0]
    limits = (
        f"container {container['name']} limit {container.get('memory') or 'none'} MiB, "
        f"task {revision.definition.get('memory')} MiB"
    )
    killed: dict[str, list[str]] = {"oom": [], "sigkill": []}
    for task in view.stopped_tasks():
        for stopped in task.get("containers", []):
            ident = task["taskArn"].rsplit("/", 1)[-1][:8]
            if OOM_REASON in (stopped.get("reason") or ""):
                killed["oom"].append(ident)
            elif stopped.get("exitCode") == SIGKILL_EXIT:
                killed["sigkill"].append(ident)
    fix = (
        "raise container.memory in the phase manifest (the task's memory with it), or find what grows: "
        "`snailtrail logs --previous` shows the killed tasks' last lines"
    )
    if killed["oom"]:
        return fail(f"task(s) {', '.join(killed['oom'])} were killed for memory ({limits})", fix)
    if killed["sigkill"]:
        return warn(
            f"task(s) {', '.join(killed['sigkill'])} exited with code 137 (SIGKILL: the memory limit, or a stop "
            f"that outlasted the stop timeout; {limits})",
            fix,
        )
    return ok(f"no stopped task was killed for memory ({limits})")


def _definition_problems(view: LiveView, definitions: list[dict[str, Any]]) -> list[str]:
    """What the revision itself says wrong of its containers: order, images, log configuration."""
    problems = container_graph.problems(definitions)
    for container in definitions:
        name, image = container["name"], str(container.get("image", ""))
        missing = image_missing(view, image) if "@sha256:" in image else None
        if missing is not None:
            problems.append(f"{name}: {missing}")
        options = (container.get("logConfiguration") or {}).get("options") or {}
        if options.get("awslogs-group") and not view.log_group_exists(options["awslogs-group"]):
            problems.append(f"{name} logs to {options['awslogs-group']}, which does not exist")
    return problems


def _task_problems(view: LiveView, definitions: list[dict[str, Any]]) -> list[str]:
    """What the running tasks say: an essential container not running, a container health check failing."""
    declared = {c["name"]: c for c in definitions}
    problems = []
    for task in view.tasks():
        ident = task["taskArn"].rsplit("/", 1)[-1][:8]
        for container in task.get("containers", []):
            name = container.get("name")
            spec = declared.get(name, {})
            if container_graph.essential(spec) and container.get("lastStatus") not in ("RUNNING", None):
                problems.append(f"task {ident}: essential container {name} is {container.get('lastStatus')}")
            if spec.get("healthCheck") and container.get("healthStatus") == "UNHEALTHY":
                problems.append(f"task {ident}: {name} fails its container health check")
    return problems


@check(
    "containers",
    "container",
    prevents="a sidecar or init container that never started, logged nowhere, or took the task down",
)
def containers(view: LiveView, phase: Phase | None) -> Verdict:
    """Each container of the running revision: its image in the registry (by digest), its log configuration
    (an awslogs group that exists), dependsOn naming containers of the task without a cycle, at least one
    essential container; and in each running task every essential container running and every container
    with a health check not UNHEALTHY."""
    revision = view.running_revision()
    if revision is None:
        return skip("no task definition")
    definitions = revision.definition["containerDefinitions"]
    problems = _definition_problems(view, definitions) + _task_problems(view, definitions)
    names = ", ".join(c["name"] for c in definitions)
    fix = (
        "fix the containers in the phase manifest (containers:, depends_on, log) and deploy it; "
        "`snailtrail logs --previous` shows what a stopped container wrote"
    )
    if problems:
        return fail("; ".join(problems), fix, [revision.arn])
    unlogged = [c["name"] for c in definitions if not c.get("logConfiguration")]
    if unlogged and len(definitions) > 1:
        return warn(
            f"{', '.join(unlogged)}: no log configuration, so ECS keeps none of their output", fix, [revision.arn]
        )
    return ok(f"{len(definitions)} container(s) ({names}): images, logs, order and health as declared", [revision.arn])
