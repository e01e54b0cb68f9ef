"""Watch one ECS deployment until it is stable, fails, or the time runs out.

botocore's ``services_stable`` waiter only compares counts; it reports success while a crashing
revision is replaced by ECS's circuit breaker. This loop watches what the issue asks for: the
deployment's rolloutState, which revision is PRIMARY, the new tasks' status and health, and the
service events, and treats any stopped task of the new revision as a failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.ecs import EcsApi


@dataclass
class RolloutOutcome:
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


def _primary(service: dict[str, Any]) -> dict[str, Any] | None:
    return next((d for d in service.get("deployments", []) if d.get("status") == "PRIMARY"), None)


def watch_rollout(
    ecs: EcsApi,
    service_name: str,
    task_definition_arn: str,
    timeout_s: float,
    poll_interval_s: float = 5.0,
    on_progress: Callable[[str], None] | None = None,
    seen_events: set[str] | None = None,
) -> RolloutOutcome:
    report = on_progress or (lambda _message: None)
    seen = seen_events if seen_events is not None else set()
    outcome_events: list[str] = []
    deadline = time.monotonic() + timeout_s
    last_state = "no deployment seen"
    ours: str | None = None  # our deployment's id, once ECS shows it as PRIMARY
    known: set[str] = set()  # tasks of the new revision seen so far
    while True:
        service = ecs.describe_service(service_name)
        if service is None:
            return RolloutOutcome(False, f"service {service_name} disappeared during the rollout")
        for event in sorted(service.get("events", []), key=lambda e: str(e.get("createdAt"))):
            if event["id"] not in seen:
                seen.add(event["id"])
                outcome_events.append(event["message"])
                report(f"ECS: {event['message']}")
        primary = _primary(service)
        if primary is not None and primary.get("taskDefinition") == task_definition_arn:
            ours = primary["id"]
        elif primary is not None and ours is not None:
            return RolloutOutcome(
                False,
                f"ECS rolled the service back to {primary.get('taskDefinition')} by itself "
                "(deployment circuit breaker)",
                events=outcome_events,
            )
        # Three calls a poll: the running tasks plus the ones already seen (a task that stopped since
        # is described again); stopped tasks are listed only once ECS counts failed tasks, which also
        # catches a task that started and stopped between two polls.
        failing = bool(primary and primary.get("failedTasks"))
        tasks = ecs.service_tasks(service_name, ("RUNNING", "STOPPED") if failing else ("RUNNING",), also=known)
        deployment_id = primary["id"] if primary else None
        new_tasks = [
            t
            for t in tasks
            if t.get("taskDefinitionArn") == task_definition_arn and (t.get("startedBy") in (None, "", deployment_id))
        ]
        known.update(t["taskArn"] for t in new_tasks)
        stopped = group_stops([t for t in new_tasks if t.get("lastStatus") == "STOPPED"])
        if primary is not None and primary.get("rolloutState") == "FAILED":
            return RolloutOutcome(
                False,
                f"deployment {primary['id']} FAILED: {primary.get('rolloutStateReason', '')}",
                new_tasks,
                stopped,
                outcome_events,
            )
        if stopped:
            count = sum(1 for t in new_tasks if t.get("lastStatus") == "STOPPED")
            return RolloutOutcome(
                False, f"{count} task(s) of the new revision stopped", new_tasks, stopped, outcome_events
            )
        running = [t for t in new_tasks if t.get("lastStatus") == "RUNNING"]
        unhealthy = [t for t in running if t.get("healthStatus") == "UNHEALTHY"]
        desired = service.get("desiredCount", 0)
        others = [d for d in service.get("deployments", []) if d is not primary]
        state = (
            f"{len(running)}/{desired} new tasks running, rollout "
            f"{primary.get('rolloutState', '?') if primary else 'not started'}, {len(others)} old deployment(s)"
        )
        if state != last_state:
            report(state)
            last_state = state
        # rolloutState is authoritative when ECS reports it; only without it do counts decide.
        rollout_state = primary.get("rolloutState") if primary else None
        completed = ours is not None and (rollout_state == "COMPLETED" or (rollout_state is None and not others))
        if completed and len(running) >= desired and not unhealthy:
            return RolloutOutcome(
                True, f"stable: {len(running)}/{desired} tasks of the new revision running", running, [], outcome_events
            )
        if time.monotonic() >= deadline:
            return RolloutOutcome(False, f"timed out after {timeout_s:.0f} s: {state}", new_tasks, [], outcome_events)
        time.sleep(poll_interval_s)
