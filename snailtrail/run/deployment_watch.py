"""Watch one ECS deployment until it is stable, fails, or the time runs out.

botocore's ``services_stable`` waiter only compares counts; it reports success while a crashing
revision is replaced by ECS's circuit breaker. This loop watches what the issue asks for: the
deployment's rolloutState, which revision is PRIMARY, the new tasks' status and health, and the
service events, and treats any stopped task of the new revision as a failure.

Each poll is one DescribeServices, as ecs-deploy's is. The tasks are listed and described only when
our PRIMARY deployment's counters say there is something in them to see:

- ``failedTasks`` above zero, or ``runningCount`` lower than at the last poll: a task of the new
  revision stopped. Its stopped tasks are read to say why (reasons grouped, exit codes). ECS (and
  the sandbox's reconciler) counts a failed task as it stops it, so the failure is noticed on the
  first poll after the first stop, as soon as listing the tasks on every poll would see it, for 2
  calls then instead of 2 on every poll. ``runningCount`` falling covers a failure whose count ECS
  has already reset to zero because another task turned healthy (its circuit breaker's default).
- rolloutState FAILED: the stopped tasks are read once more, for the reasons.
- the deployment looks complete (COMPLETED, or without a rolloutState no other deployment left)
  with enough tasks running: the running tasks are read once to confirm that they are our revision
  and none is UNHEALTHY before the rollout counts as stable.

The first look waits one interval: UpdateService has just answered, and nothing can have started,
let alone failed, in the moment since. What the counters cannot show is a task that stops and is
replaced between two polls while another turns healthy (the count reset, runningCount unchanged);
listing the tasks on every poll would see that only for a task it had already seen running.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.ecs import EcsApi, primary_deployment


@dataclass
class DeploymentOutcome:
    ok: bool
    summary: str
    new_tasks: list[dict[str, Any]] = field(default_factory=list)
    stopped: list[str] = field(default_factory=list)
    events: list[str] = field(default_factory=list)


def describe_stop(task: dict[str, Any]) -> str:
    """Why a task stopped, with each container's exit code: what an operator needs first."""
    parts = [task.get("stoppedReason") or "no reason given"]
    for container in task.get("containers", []):
        code = container.get("exitCode")
        reason = container.get("reason")
        if code is not None or reason:
            parts.append(f"container {container.get('name')} exit code {code}" + (f" ({reason})" if reason else ""))
    return "; ".join(parts)


def group_stops(tasks: list[dict[str, Any]]) -> list[str]:
    """One line per distinct reason, naming the tasks that stopped for it."""
    by_reason: dict[str, list[str]] = {}
    for task in tasks:
        by_reason.setdefault(describe_stop(task), []).append(task["taskArn"].rsplit("/", 1)[-1][:8])
    return [f"{reason} (task{'s' if len(ids) > 1 else ''} {', '.join(ids)})" for reason, ids in by_reason.items()]


def _tasks_of(
    ecs: EcsApi, service_name: str, status: str, task_definition_arn: str, deployment_id: str
) -> list[dict[str, Any]]:
    """The service's tasks with this desired status that belong to our revision and deployment.

    A task wanted STOPPED counts as stopped whatever its lastStatus: ECS has decided to stop it and
    given its reason, and on Fargate reaching STOPPED can take another half a minute.
    """
    return [
        t
        for t in ecs.service_tasks(service_name, (status,))
        if t.get("taskDefinitionArn") == task_definition_arn and t.get("startedBy") in (None, "", deployment_id)
    ]


def watch_deployment(
    ecs: EcsApi,
    service_name: str,
    task_definition_arn: str,
    timeout_s: float,
    poll_interval_s: float = 5.0,
    on_progress: Callable[[str], None] | None = None,
    seen_events: set[str] | None = None,
) -> DeploymentOutcome:
    report = on_progress or (lambda _message: None)
    seen = seen_events if seen_events is not None else set()
    outcome_events: list[str] = []
    deadline = time.monotonic() + timeout_s
    last_state = "no deployment seen"
    ours: str | None = None  # our deployment's id, once ECS shows it as PRIMARY
    running_before = 0  # our deployment's runningCount at the last poll
    while True:
        time.sleep(poll_interval_s)
        service = ecs.describe_service(service_name)
        if service is None:
            return DeploymentOutcome(False, f"service {service_name} disappeared during the rollout")
        for event in sorted(service.get("events", []), key=lambda e: str(e.get("createdAt"))):
            if event["id"] not in seen:
                seen.add(event["id"])
                outcome_events.append(event["message"])
                report(f"ECS: {event['message']}")
        primary = primary_deployment(service)
        if primary is not None and primary.get("taskDefinition") == task_definition_arn:
            ours = primary["id"]
        elif primary is not None and ours is not None:
            return DeploymentOutcome(
                False,
                f"ECS rolled the service back to {primary.get('taskDefinition')} by itself "
                "(deployment circuit breaker)",
                events=outcome_events,
            )
        deployment = primary if ours is not None else None  # ours, now that ECS shows it as PRIMARY
        running = deployment.get("runningCount", 0) if deployment else 0
        # While failedTasks is above zero the stopped tasks are looked at again each poll, in case
        # ECS counted a failure before its task is listed (or that failure had no task at all).
        stopping = deployment is not None and (deployment.get("failedTasks", 0) > 0 or running < running_before)
        running_before = running
        stopped = _tasks_of(ecs, service_name, "STOPPED", task_definition_arn, ours or "") if stopping else []
        if primary is not None and primary.get("rolloutState") == "FAILED":
            return DeploymentOutcome(
                False,
                f"deployment {primary['id']} FAILED: {primary.get('rolloutStateReason', '')}",
                stopped,
                group_stops(stopped),
                outcome_events,
            )
        if stopped:
            summary = f"{len(stopped)} task(s) of the new revision stopped"
            return DeploymentOutcome(False, summary, stopped, group_stops(stopped), outcome_events)
        desired = service.get("desiredCount", 0)
        others = [d for d in service.get("deployments", []) if d is not primary]
        state = (
            f"{running}/{desired} new tasks running, rollout "
            f"{primary.get('rolloutState', '?') if primary else 'not started'}, {len(others)} old deployment(s)"
        )
        if state != last_state:
            report(state)
            last_state = state
        # rolloutState is authoritative when ECS reports it; only without it do counts decide.
        rollout_state = deployment.get("rolloutState") if deployment else None
        completed = deployment is not None and (rollout_state == "COMPLETED" or (rollout_state is None and not others))
        if completed and running >= desired:
            tasks = _tasks_of(ecs, service_name, "RUNNING", task_definition_arn, deployment["id"])
            up = [t for t in tasks if t.get("lastStatus") == "RUNNING"]
            if len(up) >= desired and not any(t.get("healthStatus") == "UNHEALTHY" for t in up):
                return DeploymentOutcome(
                    True, f"stable: {len(up)}/{desired} tasks of the new revision running", up, [], outcome_events
                )
        if time.monotonic() >= deadline:
            return DeploymentOutcome(False, f"timed out after {timeout_s:.0f} s: {state}", events=outcome_events)
