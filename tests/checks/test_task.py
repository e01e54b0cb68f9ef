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
