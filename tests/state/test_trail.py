"""The trail: every event is checked when read, a bad one is skipped with a warning and never blocks a
command, and an event once written is never rewritten."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from snailtrail.aws.session import AwsClients
from snailtrail.config.settings import load_settings
from snailtrail.state.trail import Event, Trail
from tests.commands.test_deploy import GOOD_1, GOOD_2
from tests.conftest import Sandbox

FAST = ("--timeout", "20", "--poll-interval", "0.05")
ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:1"
BAD_EVENTS: dict[str, Any] = {
    "no time": {"kind": "deploy.finished", "run_id": "x", "ok": True, "task_definition": ARN},
    "no kind": {"at": "2099-01-01T00:00:00+00:00", "run_id": "x"},
    "a bad time": {"kind": "deploy.finished", "at": "yesterday", "ok": True, "task_definition": ARN},
    "an ARN without its revision": {
        "kind": "deploy.finished",
        "at": "2099-01-01T00:00:00+00:00",
        "ok": True,
        "task_definition": "arn:aws:ecs:us-east-1:123456789012:task-definition/shine",
    },
    "not a map": ["deploy.finished"],
    "data not a map": {"kind": "step", "at": "2099-01-01T00:00:00+00:00", "data": "update"},
}


def trail_of(sandbox: Sandbox) -> Trail:
    settings = load_settings(str(sandbox.config))
    return Trail(AwsClients(settings.environment), "snailtrail-state", "unit", "shine", sandbox.root / ".snailtrail")


def plant(sandbox: Sandbox, name: str, record: Any, where: str) -> None:
    key = f"2099-01-01T00:00:00.000+00:00#{name.replace(' ', '-')}#000001"
    if where == "table":
        boto3.client("dynamodb", region_name="us-east-1").put_item(
            TableName="snailtrail-state",
            Item={"pk": {"S": "trail#unit#shine"}, "sk": {"S": key}, "event": {"S": json.dumps(record)}},
        )
    else:
        with (sandbox.root / ".snailtrail" / "trail-unit.jsonl").open("a") as cache:
            cache.write(json.dumps(record | {"sk": key} if isinstance(record, dict) else record) + "\n")


@pytest.mark.parametrize("where", ["table", "cache"])
def test_bad_events_are_skipped_with_a_warning_and_never_block_a_command(sandbox: Sandbox, where: str) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    for name, record in BAD_EVENTS.items():
        plant(sandbox, name, record, where)
    if where == "table":
        boto3.client("dynamodb", region_name="us-east-1").put_item(
            TableName="snailtrail-state",
            Item={"pk": {"S": "trail#unit#shine"}, "sk": {"S": "2099-02"}, "event": {"S": "{not json"}},
        )

    shown = sandbox.run("trail", "--format", "json")
    assert shown.exit_code == 0, shown.stderr
    assert len(shown.json()["events"]) > 0 and "skipped" in shown.stderr
    assert all(e["at"] != "yesterday" for e in shown.json()["events"])
    assert sandbox.run("trail").exit_code == 0
    assert sandbox.run("status", "--json").exit_code == 0
    assert sandbox.run("plan", "phase-1").exit_code == 0
    listed = sandbox.run("rollback", "--list", "--json")
    assert listed.exit_code == 0 and listed.json()["default_target"].endswith(":1")
    rolled = sandbox.run("rollback", *FAST, "--json")
    assert rolled.exit_code == 0, rolled.stderr
    assert rolled.json()["rolled_back_to"].endswith(":1")


def test_an_event_once_written_is_never_rewritten(sandbox: Sandbox) -> None:
    original = Event(kind="deploy.finished", run_id="r1", at="2026-01-01T00:00:00.000+00:00", ok=False)
    trail_of(sandbox).emit(original)
    # Another writer (the same sort key: the same time, run and sequence) cannot replace it.
    forger = trail_of(sandbox)
    forger.emit(Event(kind="deploy.finished", run_id="r1", at="2026-01-01T00:00:00.000+00:00", ok=True))
    assert forger.remote_error is not None and "not written" in forger.remote_error
    [stored] = boto3.client("dynamodb", region_name="us-east-1").query(
        TableName="snailtrail-state",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "trail#unit#shine"}},
    )["Items"]
    assert json.loads(stored["event"]["S"])["ok"] is False
