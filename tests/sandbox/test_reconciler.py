"""The reconciler plays the ECS agent: what describe_services/describe_tasks/target health then show."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest

from tests.conftest import CRASHING, Sandbox
from tests.sandbox.test_front_door import get


def wait_for(predicate: Any, timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not reached")


def _service(sandbox: Sandbox) -> dict[str, Any]:
    return boto3.client("ecs", region_name="us-east-1").describe_services(cluster="shine", services=["shine"])[
        "services"
    ][0]


def test_rollout_completes_with_healthy_targets_and_steady_state_event(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    service = _service(sandbox)
    assert [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]
    assert service["runningCount"] == 1
    messages = [e["message"] for e in service["events"]]
    assert any("has reached a steady state" in m for m in messages)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    health = elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]
    assert [h["TargetHealth"]["State"] for h in health] == ["healthy"]


def test_old_tasks_stop_with_scaling_reason_after_replacement(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    assert sandbox.deploy("phase-2", "fake.local/shine:two").exit_code == 0
    ecs = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_tasks(cluster="shine")["taskArns"]
    tasks = ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"]
    stopped = [t for t in tasks if t["lastStatus"] == "STOPPED"]
    running = [t for t in tasks if t["lastStatus"] == "RUNNING"]
    assert len(stopped) == 1 and stopped[0]["taskDefinitionArn"].endswith(":1")
    assert stopped[0]["stoppedReason"].startswith("Scaling activity initiated by (deployment ecs-svc/")
    assert len(running) == 2 and all(t["taskDefinitionArn"].endswith(":2") for t in running)


def test_crashing_revision_trips_the_circuit_breaker(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    sandbox.break_phase("phase-2", CRASHING)
    assert sandbox.deploy("phase-2", "fake.local/shine:crash", "--no-rollback").exit_code == 1

    def failed() -> Any:
        deployments = _service(sandbox)["deployments"]
        return next((d for d in deployments if d["status"] == "PRIMARY" and d["rolloutState"] == "FAILED"), None)

    primary = wait_for(failed)
    assert primary["failedTasks"] >= 3
    assert "circuit breaker" in primary["rolloutStateReason"]
    # The old deployment keeps serving while the new one fails.
    deployments = _service(sandbox)["deployments"]
    ecs = boto3.client("ecs", region_name="us-east-1")
    tasks = ecs.describe_tasks(cluster="shine", tasks=ecs.list_tasks(cluster="shine")["taskArns"])["tasks"]
    assert [(d["status"], d["runningCount"]) for d in deployments] == [("PRIMARY", 0), ("ACTIVE", 1)], (
        [(d["status"], d["runningCount"], d["taskDefinition"][-2:]) for d in deployments],
        [(t["taskDefinitionArn"][-2:], t["lastStatus"], t.get("stoppedReason")) for t in tasks],
    )


def test_replaced_tasks_drain_for_the_deregistration_delay_before_they_stop(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(
        TargetGroupArn=group, Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "600"}]
    )
    now = [0.0]
    monkeypatch.setattr(sandbox.reconciler, "clock", lambda: now[0])
    ecs = boto3.client("ecs", region_name="us-east-1")
    old = ecs.list_tasks(cluster="shine")["taskArns"]
    ecs.update_service(cluster="shine", service="shine", taskDefinition=sandbox.copy_revision("fake.local/shine:two"))

    def health() -> dict[str, str]:
        descriptions = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
        return {d["TargetHealth"]["State"]: d["TargetHealth"].get("Reason", "") for d in descriptions}

    # The new task is healthy; the old one drains: no new requests, still running, the rollout not done.
    assert wait_for(lambda: health() if set(health()) == {"healthy", "draining"} else None) == {
        "healthy": "",
        "draining": "Target.DeregistrationInProgress",
    }
    (task,) = ecs.describe_tasks(cluster="shine", tasks=old)["tasks"]
    assert (task["lastStatus"], task["desiredStatus"]) == ("DEACTIVATING", "STOPPED")
    assert _service(sandbox)["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert get(sandbox.front_door_url + "/health")[0] == 200
    # The delay runs out: the old task stops and the deployment completes.
    now[0] = 600.0
    wait_for(lambda: [d["rolloutState"] for d in _service(sandbox)["deployments"]] == ["COMPLETED"])
    (task,) = ecs.describe_tasks(cluster="shine", tasks=old)["tasks"]
    assert task["lastStatus"] == "STOPPED" and task["stoppedReason"].startswith("Scaling activity initiated by")
    assert list(health()) == ["healthy"]


def with_sidecars(metrics_script: str, metrics_check: tuple[str, ...] = ("CMD", "true")) -> Any:
    """phase-1 with an init container the app waits for and an essential metrics sidecar."""

    def change(document: dict[str, Any]) -> None:
        document["container"]["depends_on"] = {"models": "SUCCESS"}
        document["containers"] = [
            {"name": "models", "essential": False, "command": ["sh", "-c", "echo models fetched"]},
            {
                "name": "metrics",
                "command": ["sh", "-c", metrics_script],
                "depends_on": {"app": "START"},
                "container_health_check": {"command": list(metrics_check), "interval_s": 5, "retries": 1},
            },
        ]

    return change


def test_a_task_of_several_containers_runs_as_declared_each_logging_to_its_own_stream(sandbox: Sandbox) -> None:
    sandbox.edit_phase("phase-1", with_sidecars("echo metrics up; sleep 600"))
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    ecs = boto3.client("ecs", region_name="us-east-1")
    definition = ecs.describe_task_definition(taskDefinition=_service(sandbox)["taskDefinition"])["taskDefinition"]
    assert [c["name"] for c in definition["containerDefinitions"]] == ["app", "models", "metrics"]
    task = ecs.describe_tasks(cluster="shine", tasks=ecs.list_tasks(cluster="shine")["taskArns"])["tasks"][0]
    task_id = task["taskArn"].rsplit("/", 1)[1]
    logs = boto3.client("logs", region_name="us-east-1")

    def lines(container: str) -> list[str]:
        stream = f"shine/{container}/{task_id}"
        events = logs.get_log_events(logGroupName="/ecs/shine", logStreamName=stream)["events"]
        return [e["message"] for e in events]

    assert wait_for(lambda: lines("models") == ["models fetched"] and lines("metrics") == ["metrics up"])
    assert any("listening on port 8000" in line for line in lines("app"))
    containers = {c["name"]: c for c in task["containers"]}
    assert (containers["models"]["lastStatus"], containers["models"]["exitCode"]) == ("STOPPED", 0)
    assert containers["app"]["lastStatus"] == containers["metrics"]["lastStatus"] == "RUNNING"
    assert containers["metrics"]["healthStatus"] == "HEALTHY"  # its container health check passed


def test_an_essential_sidecar_that_exits_stops_the_task_as_ecs_does(sandbox: Sandbox) -> None:
    sandbox.edit_phase("phase-1", with_sidecars("echo metrics gave up; exit 2"))
    assert sandbox.deploy("phase-1", "fake.local/shine:one", "--no-rollback", "--timeout", "5").exit_code == 1
    ecs = boto3.client("ecs", region_name="us-east-1")
    tasks = ecs.describe_tasks(cluster="shine", tasks=ecs.list_tasks(cluster="shine")["taskArns"])["tasks"]
    stopped = [t for t in tasks if t["lastStatus"] == "STOPPED"]
    assert stopped and {t["stoppedReason"] for t in stopped} == {"Essential container in task exited"}
    containers = {c["name"]: c for c in stopped[0]["containers"]}
    assert (containers["metrics"]["exitCode"], containers["metrics"]["reason"]) == (
        2,
        "Essential container exited: metrics gave up",
    )
    assert containers["models"]["exitCode"] == 0  # the init container had done its work
    assert {c["lastStatus"] for c in containers.values()} == {"STOPPED"}
