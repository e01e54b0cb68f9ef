"""The checks that explain stopped tasks: the health-check request, and memory kills."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from snailtrail.checks.task import memory
from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"


def test_health_check_path_passes_when_the_target_group_asks_the_phases_path(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    [check] = sandbox.run("verify", "--json", "--only", "health check path").json()["checks"]
    assert check["status"] == "pass" and "requests /health" in check["summary"]


@pytest.mark.parametrize(
    "change, says",
    [
        ({"HealthCheckPath": "/"}, "requests /, but phase-1 answers health on /health"),
        ({"Matcher": {"HttpCode": "301"}}, "expects HTTP 301"),
    ],
)
def test_health_check_path_fails_on_another_path_or_matcher(
    sandbox: Sandbox, change: dict[str, Any], says: str
) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    elbv2.modify_target_group(TargetGroupArn=group["TargetGroupArn"], **change)
    result = sandbox.run("verify", "--json", "--only", "health check path")
    [check] = result.json()["checks"]
    assert result.exit_code == 1 and check["status"] == "fail" and says in check["summary"], check
    assert "modify-target-group" in check["fix"]


def view_with(*containers: dict[str, Any]) -> Any:
    """A stand-in LiveView: the running revision and the stopped tasks are all the memory check reads."""
    revision = SimpleNamespace(definition={"memory": "512", "containerDefinitions": [{"name": "app", "memory": 512}]})
    tasks = [
        {"taskArn": f"arn:aws:ecs:us-east-1:1:task/shine/{i}abcdef0", "containers": [c]}
        for i, c in enumerate(containers)
    ]
    return SimpleNamespace(running_revision=lambda: revision, stopped_tasks=lambda: tasks)


def test_memory_fails_for_an_out_of_memory_kill_and_names_the_limits() -> None:
    result = memory(
        view_with({"exitCode": 137, "reason": "OutOfMemoryError: Container killed due to memory usage"}), None
    )
    assert result.status.value == "fail"
    assert (
        "0abcdef0" in result.summary and "limit 512 MiB" in result.summary and "logs --previous" in (result.fix or "")
    )


def test_memory_warns_for_a_sigkill_without_the_out_of_memory_reason() -> None:
    assert memory(view_with({"exitCode": 137}), None).status.value == "warn"


def test_memory_passes_when_tasks_stopped_for_other_reasons() -> None:
    assert memory(view_with({"exitCode": 1, "reason": "app crashed"}), None).status.value == "pass"


def test_containers_passes_for_a_task_running_as_declared(sandbox: Sandbox) -> None:
    from tests.sandbox.test_reconciler import with_sidecars

    sandbox.edit_phase("phase-1", with_sidecars("sleep 600"))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    [check] = sandbox.run("verify", "--json", "--only", "containers").json()["checks"]
    assert check["status"] == "pass" and "3 container(s) (app, models, metrics)" in check["summary"], check


def test_containers_fails_for_a_sidecar_failing_its_health_check(sandbox: Sandbox) -> None:
    from tests.sandbox.test_reconciler import wait_for, with_sidecars

    sandbox.edit_phase("phase-1", with_sidecars("sleep 600", ("CMD-SHELL", "exit 1")))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0

    def verdict() -> dict[str, Any] | None:
        [check] = sandbox.run("verify", "--json", "--only", "containers").json()["checks"]
        return check if check["status"] == "fail" else None

    check = wait_for(verdict)
    assert "metrics fails its container health check" in check["summary"] and "manifest" in check["fix"]


@pytest.mark.parametrize(
    "definitions, says",
    [
        ([{"name": "app", "essential": False}], "no container is essential"),
        (
            [{"name": "app", "dependsOn": [{"containerName": "gone", "condition": "START"}]}],
            "app depends on gone, which is not a container of the task",
        ),
        (
            [
                {"name": "app", "dependsOn": [{"containerName": "agent", "condition": "START"}]},
                {"name": "agent", "dependsOn": [{"containerName": "app", "condition": "START"}]},
            ],
            "dependsOn has a cycle: app -> agent -> app",
        ),
        (
            [{"name": "app", "logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/gone"}}}],
            "app logs to /gone, which does not exist",
        ),
    ],
)
def test_containers_fails_for_a_revision_ecs_would_not_run_as_meant(
    definitions: list[dict[str, Any]], says: str
) -> None:
    from snailtrail.checks.task import containers

    revision = SimpleNamespace(arn="arn:td:1", definition={"containerDefinitions": definitions})
    view = SimpleNamespace(running_revision=lambda: revision, tasks=lambda: [], log_group_exists=lambda name: False)
    result = containers(view, None)
    assert result.status.value == "fail" and says in result.summary
