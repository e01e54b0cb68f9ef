"""watch_deployment: what it notices, and the AWS calls it makes to notice it.

Against the in-process sandbox where the reconciler can produce the case (a healthy rollout, a
crashing revision); against a scripted control plane where ECS itself would have to act (its
circuit breaker, a task that stops after it ran).
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from snailtrail.aws.ecs import EcsApi
from snailtrail.run.deployment_watch import watch_deployment
from tests.conftest import Sandbox, count_polls

OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:1"
NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:2"


def point_service_at(sandbox: Sandbox, image: str, command: list[str] | None = None) -> tuple[EcsApi, str]:
    """The deployed service updated to a revision running ``image`` (and ``command``), two tasks of it:
    what the deploy's update step leaves for the wait. Returns the ECS API and the new revision."""
    from snailtrail.aws.session import AwsClients
    from snailtrail.config.settings import load_settings

    arn = sandbox.copy_revision(image, command=command)
    ecs = boto3.client("ecs", region_name="us-east-1")
    # A grace period, so that the crashing tasks stop for their exit and not for health checks first.
    ecs.update_service(
        cluster="shine", service="shine", taskDefinition=arn, desiredCount=2, healthCheckGracePeriodSeconds=5
    )
    sandbox.api_calls.clear()
    return EcsApi(AwsClients(load_settings(str(sandbox.config)).environment), "shine"), arn


def deploy_phase_1(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0


def test_a_healthy_rollout_reads_the_service_once_a_poll_and_the_tasks_once(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    deploy_phase_1(sandbox)
    # One reconciler pass before each poll: the rollout cannot finish before the watch first looks.
    with sandbox.reconciler_by_hand() as reconcile:
        ecs, arn = point_service_at(sandbox, "fake.local/shine:phase-2-good")
        polls = count_polls(monkeypatch, after_sleep=reconcile)
        seen: list[str] = []
        describe, list_tasks = ecs.describe_service, ecs.service_tasks

        def described(name: str) -> dict[str, Any] | None:
            service = describe(name)
            seen.append(next(d for d in (service or {})["deployments"] if d["status"] == "PRIMARY")["rolloutState"])
            return service

        def listed(name: str, statuses: tuple[str, ...] = ("RUNNING", "STOPPED")) -> list[dict[str, Any]]:
            seen.append("tasks read")
            return list_tasks(name, statuses)

        monkeypatch.setattr(ecs, "describe_service", described)
        monkeypatch.setattr(ecs, "service_tasks", listed)
        outcome = watch_deployment(ecs, "shine", arn, timeout_s=20, poll_interval_s=0.06)
    assert outcome.ok, outcome.summary
    assert len(outcome.new_tasks) == 2 and all(t["taskDefinitionArn"] == arn for t in outcome.new_tasks)
    # Polls while the tasks started and turned healthy read nothing else; the tasks were read once,
    # after the poll that showed the deployment complete.
    assert len(polls) >= 2
    assert seen == ["IN_PROGRESS"] * (len(polls) - 1) + ["COMPLETED", "tasks read"]
    assert dict(sandbox.api_calls) == {"ecs.DescribeServices": len(polls), "ecs.ListTasks": 1, "ecs.DescribeTasks": 1}


def test_a_crashing_revision_is_noticed_on_the_first_poll_after_its_first_failed_task(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both tasks run a moment, then exit: well before the circuit breaker's third failed task.
    deploy_phase_1(sandbox)
    ecs, arn = point_service_at(sandbox, "fake.local/shine:phase-2-crash", ["sh", "-c", "sleep 1; exit 1"])
    failed_tasks_seen: list[int] = []
    describe = ecs.describe_service

    def watched(name: str) -> dict[str, Any] | None:
        service = describe(name)
        primary = next(d for d in (service or {}).get("deployments", []) if d["status"] == "PRIMARY")
        failed_tasks_seen.append(primary.get("failedTasks", 0))
        return service

    monkeypatch.setattr(ecs, "describe_service", watched)
    outcome = watch_deployment(ecs, "shine", arn, timeout_s=20, poll_interval_s=0.01)
    assert not outcome.ok and "task(s) of the new revision stopped" in outcome.summary
    # The first poll that showed a failed task was the last: noticed at once.
    assert failed_tasks_seen[-1] > 0 and not any(failed_tasks_seen[:-1])
    # Grouped by reason, with the container's exit code and the tasks' ids.
    assert len(outcome.stopped) == 1
    assert outcome.stopped[0].startswith("Essential container in task exited; container app exit code 1")
    assert "(task" in outcome.stopped[0]
    # The stopped tasks were read once, on that poll.
    assert sandbox.api_calls["ecs.ListTasks"] == 1 and sandbox.api_calls["ecs.DescribeTasks"] == 1


class ScriptedEcs:
    """A control plane whose DescribeServices answers follow a script (the last one repeats)."""

    def __init__(self, polls: list[dict[str, Any] | None], tasks: list[dict[str, Any]] | None = None) -> None:
        self.polls = polls
        self.tasks = tasks or []
        self.described = 0
        self.listed: list[tuple[str, ...]] = []

    def describe_service(self, name: str) -> dict[str, Any] | None:
        self.described += 1
        return self.polls[min(self.described, len(self.polls)) - 1]

    def service_tasks(self, name: str, statuses: tuple[str, ...] = ("RUNNING", "STOPPED")) -> list[dict[str, Any]]:
        self.listed.append(statuses)
        return [t for t in self.tasks if t["desiredStatus"] in statuses]


def deployment(task_definition: str, status: str, state: str, running: int = 0, failed: int = 0) -> dict[str, Any]:
    return {
        "id": f"ecs-svc/{task_definition[-1]}",
        "status": status,
        "taskDefinition": task_definition,
        "rolloutState": state,
        "runningCount": running,
        "failedTasks": failed,
    }


def service(*deployments: dict[str, Any]) -> dict[str, Any]:
    return {"desiredCount": 2, "deployments": list(deployments), "events": []}


def stopped_task(reason: str, exit_code: int | None) -> dict[str, Any]:
    return {
        "taskArn": "arn:aws:ecs:us-east-1:123456789012:task/shine/0123456789abcdef",
        "taskDefinitionArn": NEW,
        "startedBy": "ecs-svc/2",
        "desiredStatus": "STOPPED",
        "lastStatus": "STOPPED",
        "stoppedReason": reason,
        "containers": [{"name": "app", "exitCode": exit_code}],
    }


def test_ecs_switching_primary_away_from_our_revision_fails_the_rollout() -> None:
    ecs = ScriptedEcs(
        [
            service(deployment(NEW, "PRIMARY", "IN_PROGRESS"), deployment(OLD, "ACTIVE", "COMPLETED", running=2)),
            # The circuit breaker with rollback on: ECS opens a deployment of the old revision.
            service(deployment(OLD, "PRIMARY", "IN_PROGRESS", running=2), deployment(NEW, "ACTIVE", "FAILED")),
        ]
    )
    outcome = watch_deployment(ecs, "shine", NEW, timeout_s=5, poll_interval_s=0)
    assert not outcome.ok and "rolled the service back to" in outcome.summary and OLD in outcome.summary
    assert ecs.described == 2 and ecs.listed == []


def test_a_failed_rollout_reports_its_stopped_tasks() -> None:
    ecs = ScriptedEcs(
        [
            service(deployment(NEW, "PRIMARY", "IN_PROGRESS"), deployment(OLD, "ACTIVE", "COMPLETED", running=2)),
            service(deployment(NEW, "PRIMARY", "FAILED", failed=3), deployment(OLD, "ACTIVE", "COMPLETED", running=2)),
        ],
        [stopped_task("Task failed ELB health checks", None)],
    )
    outcome = watch_deployment(ecs, "shine", NEW, timeout_s=5, poll_interval_s=0)
    assert not outcome.ok and "FAILED" in outcome.summary
    assert outcome.stopped == ["Task failed ELB health checks (task 01234567)"]
    assert ecs.listed == [("STOPPED",)]


def test_a_task_that_stops_after_it_ran_is_noticed_by_the_running_count() -> None:
    # Real ECS resets failedTasks when another task turns healthy (the breaker's default): runningCount falls.
    ecs = ScriptedEcs(
        [
            service(deployment(NEW, "PRIMARY", "IN_PROGRESS", running=2), deployment(OLD, "ACTIVE", "COMPLETED")),
            service(deployment(NEW, "PRIMARY", "IN_PROGRESS", running=1), deployment(OLD, "ACTIVE", "COMPLETED")),
        ],
        [stopped_task("Essential container in task exited", 137)],
    )
    outcome = watch_deployment(ecs, "shine", NEW, timeout_s=5, poll_interval_s=0)
    assert not outcome.ok and outcome.summary == "1 task(s) of the new revision stopped"
    assert outcome.stopped == [
        "Essential container in task exited; container app exit code 137 (task 01234567)",
    ]
    assert ecs.described == 2 and ecs.listed == [("STOPPED",)]


def test_the_rollout_times_out_while_the_deployment_never_completes() -> None:
    ecs = ScriptedEcs([service(deployment(NEW, "PRIMARY", "IN_PROGRESS"), deployment(OLD, "ACTIVE", "COMPLETED"))])
    outcome = watch_deployment(ecs, "shine", NEW, timeout_s=0.05, poll_interval_s=0.01)
    assert not outcome.ok and outcome.summary.startswith("timed out after 0 s: 0/2 new tasks running")
    assert ecs.listed == []


def test_a_service_deleted_during_the_rollout_fails_it() -> None:
    ecs = ScriptedEcs([service(deployment(NEW, "PRIMARY", "IN_PROGRESS")), None])
    outcome = watch_deployment(ecs, "shine", NEW, timeout_s=5, poll_interval_s=0)
    assert not outcome.ok and outcome.summary == "service shine disappeared during the rollout"
