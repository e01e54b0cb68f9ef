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


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_one_off_task_runs_every_container_and_the_sidecar_answers_the_app_on_localhost(
    registered: Sandbox, tmp_path: Any
) -> None:
    import sys

    (tmp_path / "hello.txt").write_text("from the sidecar")
    port = _free_port()
    live = _ecs().describe_task_definition(taskDefinition="shine")["taskDefinition"]
    app = live["containerDefinitions"][0] | {"dependsOn": [{"containerName": "sidecar", "condition": "START"}]}
    sidecar = {
        "name": "sidecar",
        "image": app["image"],
        "essential": False,
        "memory": 64,
        "command": [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(tmp_path),
        ],
        "logConfiguration": app["logConfiguration"],
    }
    keys = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn")
    _ecs().register_task_definition(**{k: live[k] for k in keys if k in live}, containerDefinitions=[app, sidecar])
    # The app's command reaches the sidecar on the task's localhost (retrying while the sidecar starts).
    fetch = (
        "import time, urllib.request\n"
        "for _ in range(100):\n"
        "    try:\n"
        f"        print(urllib.request.urlopen('http://localhost:{port}/hello.txt', timeout=1).read().decode())\n"
        "        break\n"
        "    except OSError:\n"
        "        time.sleep(0.1)\n"
        "else:\n"
        "    raise SystemExit('no sidecar on localhost')\n"
    )
    task = _run([sys.executable, "-c", fetch])["tasks"][0]
    assert [c["name"] for c in task["containers"]] == ["app", "sidecar"]
    stopped = _stopped(task["taskArn"])
    containers = {c["name"]: c for c in stopped["containers"]}
    assert set(containers) == {"app", "sidecar"}
    assert (stopped["stopCode"], containers["app"]["exitCode"]) == ("EssentialContainerExited", 0)
    assert containers["sidecar"]["lastStatus"] == "STOPPED"  # the essential container's exit ended the task
    assert _log_lines(stopped) == ["from the sidecar"]


def test_run_container_overrides_that_container_and_exits_with_its_exit_code(registered: Sandbox) -> None:
    """`snailtrail run --container` runs the whole task; the command is the named container's, so is the exit."""
    registered.edit_phase(
        "phase-1", lambda document: document.update(containers=[{"name": "helper", "command": ["sleep", "600"]}])
    )
    assert registered.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    command = ["sh", "-c", "echo from the helper; exit 4"]
    result = registered.run(
        "run",
        "phase-1",
        "--container",
        "helper",
        "--timeout",
        "20",
        "--poll-interval",
        "0.05",
        "--json",
        "--",
        *command,
    )
    assert result.exit_code == 4, result.stderr
    document = result.json()
    assert (document["container"], document["exit_code"], document["output"]) == ("helper", 4, ["from the helper"])
    stopped = _ecs().describe_tasks(cluster="shine", tasks=[document["task"]])["tasks"][0]
    exits = {c["name"]: c.get("exitCode") for c in stopped["containers"]}
    assert exits["helper"] == 4 and set(exits) == {"app", "helper"}  # the app ran beside it, untouched
