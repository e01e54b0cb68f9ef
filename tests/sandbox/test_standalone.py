"""Standalone tasks (RunTask) in the sandbox: run as ECS runs them; exit code, reasons and logs as ECS reports them."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from tests.conftest import Sandbox
from tests.sandbox.test_reconciler import wait_for


def _ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def _run(command: list[str] | None, container: str = "app", **extra: Any) -> dict[str, Any]:
    """One task of the family's newest revision, in the service's network, as `snailtrail run` starts it."""
    service = _ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    overrides = {"containerOverrides": [{"name": container, "command": command}]} if command else {}
    return _ecs().run_task(
        cluster="shine",
        taskDefinition="shine",
        launchType="FARGATE",
        networkConfiguration=service["networkConfiguration"],
        overrides=overrides,
        startedBy="test",
        **extra,
    )


def _stopped(arn: str) -> dict[str, Any]:
    def look() -> dict[str, Any] | None:
        task = _ecs().describe_tasks(cluster="shine", tasks=[arn])["tasks"][0]
        return task if task["lastStatus"] == "STOPPED" else None

    return wait_for(look)


def _log_lines(task: dict[str, Any]) -> list[str]:
    stream = f"shine/app/{task['taskArn'].rsplit('/', 1)[-1]}"
    events = boto3.client("logs", region_name="us-east-1").get_log_events(
        logGroupName="/ecs/shine", logStreamName=stream
    )
    return [e["message"] for e in events["events"]]


@pytest.fixture
def registered(sandbox: Sandbox) -> Sandbox:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    return sandbox


def test_run_task_starts_provisioning_and_stops_with_the_containers_exit_code(registered: Sandbox) -> None:
    answer = _run(["sh", "-c", "echo migrating; exit 3"])
    task = answer["tasks"][0]
    assert task["lastStatus"] == "PROVISIONING" and "exitCode" not in task["containers"][0]
    stopped = _stopped(task["taskArn"])
    assert stopped["stoppedReason"] == "Essential container in task exited"
    assert stopped["stopCode"] == "EssentialContainerExited"
    assert stopped["containers"][0]["exitCode"] == 3
    assert _log_lines(stopped) == ["migrating"]


def test_a_task_that_exits_0_reports_0(registered: Sandbox) -> None:
    stopped = _stopped(_run(["sh", "-c", "exit 0"])["tasks"][0]["taskArn"])
    assert stopped["containers"][0]["exitCode"] == 0


def test_stop_task_stops_the_container_with_the_reason_given(registered: Sandbox) -> None:
    arn = _run(["sleep", "30"])["tasks"][0]["taskArn"]
    wait_for(lambda: _ecs().describe_tasks(cluster="shine", tasks=[arn])["tasks"][0]["lastStatus"] == "RUNNING")
    answer = _ecs().stop_task(cluster="shine", task=arn, reason="timed out")["task"]
    assert answer["desiredStatus"] == "STOPPED"
    stopped = _stopped(arn)
    assert (stopped["stoppedReason"], stopped["stopCode"]) == ("timed out", "UserInitiated")


def test_a_task_whose_subnet_cannot_reach_the_registry_fails_to_start(registered: Sandbox) -> None:
    registered.drill("route-table")
    stopped = _stopped(_run(["sh", "-c", "exit 0"])["tasks"][0]["taskArn"])
    assert stopped["stopCode"] == "TaskFailedToStart"
    assert stopped["stoppedReason"].startswith("CannotPullContainerError")
    assert stopped["containers"][0].get("exitCode") is None


def test_an_override_for_a_container_the_revision_lacks_is_refused(registered: Sandbox) -> None:
    with pytest.raises(_ecs().exceptions.InvalidParameterException, match="Override for container named sidecar"):
        _run(["true"], container="sidecar")
