"""status --watch: one frame shows deployments, tasks, targets and the latest events; Ctrl-C ends it with 0."""

from __future__ import annotations

import pytest
from rich.console import Console

from snailtrail.run.live_status import render_live
from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"

DOCUMENT = {
    "service": "shine",
    "environment": "unit",
    "exists": True,
    "phase": "phase-2",
    "verified_at": None,
    "running": 1,
    "desired": 2,
    "deployments": [
        {
            "status": "PRIMARY",
            "rollout_state": "IN_PROGRESS",
            "running": 1,
            "desired": 2,
            "failed_tasks": 3,
            "task_definition": "arn:aws:ecs:us-east-1:1:task-definition/shine:7",
        }
    ],
    "tasks": [
        {
            "id": "0123456789ab",
            "task_definition": "shine:7",
            "last_status": "RUNNING",
            "health": "UNHEALTHY",
            "started_at": "t",
        }
    ],
    "targets": [{"id": "10.0.1.5", "port": 8000, "state": "unhealthy", "reason": "Target.FailedHealthChecks"}],
    "events": [{"at": "2026-11-25 13:40", "message": "(service shine) has started 1 tasks: (task 0123456789ab)."}],
    "lock": None,
}


def frame(document: dict) -> str:
    console = Console(record=True, width=220)
    console.print(render_live(document))
    return console.export_text()


def test_a_frame_shows_deployments_tasks_targets_and_events() -> None:
    text = frame(DOCUMENT)
    assert "phase-2, NOT verified, running 1/2" in text
    assert "PRIMARY" in text and "IN_PROGRESS" in text and "shine:7" in text
    assert "01234567" in text and "UNHEALTHY" in text
    assert "10.0.1.5:8000" in text and "Target.FailedHealthChecks" in text
    assert "has started 1 tasks" in text


def test_an_empty_service_says_so_instead_of_empty_tables() -> None:
    text = frame(DOCUMENT | {"deployments": [], "tasks": [], "targets": [], "events": []})
    assert "tasks: none running" in text and "targets: none registered" in text


def test_watch_with_json_is_refused(sandbox: Sandbox) -> None:
    result = sandbox.run("status", "--watch", "--json")
    assert result.exit_code == 2 and "--watch" in result.stderr


def test_watch_refreshes_until_interrupted_and_exits_0(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    import time

    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        if len(sleeps) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(time, "sleep", sleep)  # the watch loop's own sleep; nothing else sleeps meanwhile
    sandbox.api_calls.clear()
    result = sandbox.run("status", "--watch", "--interval", "3")
    assert result.exit_code == 0, result.stderr
    assert sleeps == [3.0, 3.0]
    assert "PRIMARY" in result.stdout and "COMPLETED" in result.stdout and "phase-1, verified" in result.stdout
    assert sandbox.api_calls["ecs.DescribeServices"] == 2  # the first frame and one refresh


def test_watch_interval_out_of_bounds_is_refused(sandbox: Sandbox) -> None:
    assert sandbox.run("status", "--watch", "--interval", "0.1").exit_code == 2
