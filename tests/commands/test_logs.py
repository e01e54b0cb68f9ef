"""snailtrail logs: the service's tasks' own output, read through CloudWatch Logs."""

from __future__ import annotations

import time
from types import SimpleNamespace

import boto3
import pytest

from tests.conftest import Sandbox
from tests.test_diagnosis import LOG_GROUP, ship_logs_like_awslogs

GOOD_1 = "fake.local/shine:phase-1-good"


def test_logs_reads_the_running_tasks_streams(sandbox: Sandbox) -> None:
    ship_logs_like_awslogs(sandbox, ["listening on 8000", "serving {image}"])
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    document = sandbox.run("logs", "--json").json()
    assert len(document["tasks"]) == 1
    assert [line["message"] for line in document["lines"]] == ["listening on 8000", f"serving {GOOD_1}"]
    assert {line["task"] for line in document["lines"]} == set(document["tasks"])


def test_previous_reads_the_tasks_that_stopped(sandbox: Sandbox) -> None:
    ship_logs_like_awslogs(sandbox, ["serving {image}"])
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash").exit_code == 1
    result = sandbox.run("logs", "--previous")
    assert result.exit_code == 0
    assert "app | serving fake.local/shine:phase-2-crash" in result.stdout
    previous = sandbox.run("logs", "--previous", "--json").json()["tasks"]
    running = sandbox.run("logs", "--json").json()["tasks"]
    assert len(previous) == 3 and running and not set(previous) & set(running)


def test_a_task_ecs_no_longer_lists_is_read_by_its_id_prefix(sandbox: Sandbox) -> None:
    ship_logs_like_awslogs(sandbox, ["serving {image}"])
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
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
    result = sandbox.run("logs", "--json")
    assert result.exit_code == 0
    [unavailable] = result.json()["unavailable"]
    assert "no logConfiguration" in unavailable["reason"] and "no logConfiguration" in result.stderr


def test_follow_prints_each_new_line_once_and_ends_with_exit_0_on_interrupt(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail import task_logs

    ship_logs_like_awslogs(sandbox, ["first line"])
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    [task] = sandbox.run("logs", "--json").json()["tasks"]
    logs = boto3.client("logs", region_name="us-east-1")
    rounds: list[float] = []

    def sleep(seconds: float) -> None:
        rounds.append(seconds)
        if len(rounds) == 1:
            logs.put_log_events(
                logGroupName=LOG_GROUP,
                logStreamName=f"shine/app/{task}",
                logEvents=[{"timestamp": int(time.time() * 1000) + 5, "message": "second line"}],
            )
        elif len(rounds) == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(task_logs, "time", SimpleNamespace(sleep=sleep, time=time.time))
    result = sandbox.run("logs", "--follow")
    assert result.exit_code == 0
    printed = [line.split(" | ", 1)[1] for line in result.stdout.splitlines()]
    assert printed == ["first line", "second line"]
    assert rounds == [2.0, 2.0, 2.0]


@pytest.mark.parametrize(
    "args", [("--task", "abc", "--previous"), ("--follow", "--json"), ("--since", "yesterday"), ("--since", "5")]
)
def test_contradicting_or_malformed_options_exit_2(sandbox: Sandbox, args: tuple[str, ...]) -> None:
    result = sandbox.run("logs", *args)
    assert result.exit_code == 2, result.stderr
