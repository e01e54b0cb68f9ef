"""snailtrail logs: the service's tasks' own output, read through CloudWatch Logs."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from tests.conftest import Sandbox
from tests.run.test_diagnosis import FATAL_AT_START
from tests.sandbox.test_front_door import get
from tests.sandbox.test_reconciler import wait_for

GOOD_1 = "fake.local/shine:phase-1-good"
LOG_GROUP = "/ecs/shine"  # the environment's log group, which provisioning created


def tasks(desired: str) -> list[dict[str, Any]]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_tasks(cluster="shine", desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"] if arns else []


def task_ids(desired: str) -> set[str]:
    return {t["taskArn"].rsplit("/", 1)[-1] for t in tasks(desired)}


def messages(stream: str) -> list[str]:
    events = boto3.client("logs", region_name="us-east-1").get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)
    return [e["message"] for e in events["events"]]


def test_logs_reads_the_running_tasks_streams(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0

    def read() -> dict[str, Any] | None:
        # The app's start-up line, then one line for each request (the health checks); the awslogs
        # driver ships them as they come, so the first request's line may still be on its way.
        document = sandbox.run("logs", "--json").json()
        return document if "GET /health 200" in [line["message"] for line in document["lines"]] else None

    document = wait_for(read)
    assert document["tasks"] == sorted(task_ids("RUNNING")) and len(document["tasks"]) == 1
    assert document["lines"][0]["message"] == "listening on port 8000"
    assert {line["task"] for line in document["lines"]} == set(document["tasks"])


def test_previous_reads_the_tasks_that_stopped(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", FATAL_AT_START)
    assert sandbox.deploy("phase-2", "fake.local/shine:phase-2").exit_code == 1
    result = sandbox.run("logs", "--previous")
    assert result.exit_code == 0
    assert "app | FATAL: DATABASE_URL is not set" in result.stdout
    previous = sandbox.run("logs", "--previous", "--json").json()["tasks"]
    running = sandbox.run("logs", "--json").json()["tasks"]
    assert 1 <= len(previous) <= 3 and set(previous) <= task_ids("STOPPED")
    assert running and not set(previous) & set(running)


def test_a_task_ecs_no_longer_lists_is_read_by_its_id_prefix(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    # ECS forgets a stopped task after about an hour; its stream stays. This task ran before that.
    logs = boto3.client("logs", region_name="us-east-1")
    stream = "shine/app/deadbeef00112233"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    logs.put_log_events(
        logGroupName=LOG_GROUP,
        logStreamName=stream,
        logEvents=[{"timestamp": int(time.time() * 1000), "message": "panic: an old task"}],
    )
    document = sandbox.run("logs", "--task", "deadbeef", "--json").json()
    assert [(line["task"], line["message"]) for line in document["lines"]] == [
        ("deadbeef00112233", "panic: an old task")
    ]


def test_without_awslogs_logs_says_why_nothing_can_be_read(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    revision = sandbox.copy_revision(GOOD_1, without_logs=True)  # registered by hand, without awslogs
    boto3.client("ecs", region_name="us-east-1").update_service(
        cluster="shine", service="shine", taskDefinition=revision
    )
    wait_for(lambda: {t["taskDefinitionArn"] for t in tasks("RUNNING")} == {revision})
    result = sandbox.run("logs", "--json")
    assert result.exit_code == 0
    [unavailable] = result.json()["unavailable"]
    assert "no logConfiguration" in unavailable["reason"] and "no logConfiguration" in result.stderr


def test_follow_prints_each_new_line_once_and_ends_with_exit_0_on_interrupt(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.run import task_logs

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    [task] = task_ids("RUNNING")
    stream = f"shine/app/{task}"
    rounds: list[float] = []
    # The reconciler held still: nothing is shipped but what the test ships, between the reads.
    with sandbox.reconciler_by_hand() as reconcile:
        before = messages(stream)

        def sleep(seconds: float) -> None:
            rounds.append(seconds)
            if len(rounds) == 1:
                assert get(sandbox.front_door_url + "/ml/status")[0] == 200  # the app logs the request
                reconcile()  # and the awslogs driver ships it
            elif len(rounds) == 3:
                raise KeyboardInterrupt

        monkeypatch.setattr(task_logs, "time", SimpleNamespace(sleep=sleep, time=time.time))
        result = sandbox.run("logs", "--follow")
        shipped = messages(stream)
    assert result.exit_code == 0
    assert "GET /ml/status 200" in shipped[len(before) :]
    printed = [line.split(" | ", 1)[1] for line in result.stdout.splitlines()]
    assert printed == shipped
    assert rounds == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "args", [("--task", "abc", "--previous"), ("--follow", "--json"), ("--since", "yesterday"), ("--since", "5")]
)
def test_contradicting_or_malformed_options_exit_2(sandbox: Sandbox, args: tuple[str, ...]) -> None:
    result = sandbox.run("logs", *args)
    assert result.exit_code == 2, result.stderr
