"""A phase's before_deploy tasks: run once with the new revision after register, before the service changes."""

from __future__ import annotations

from typing import Any

import boto3

from snailtrail.config.validation import redact, redact_command
from tests.conftest import Sandbox


def before_deploy(sandbox: Sandbox, phase: str, *tasks: dict[str, Any]) -> None:
    sandbox.edit_phase(phase, lambda document: document.update(before_deploy=list(tasks)))


def live_revision() -> str:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return ecs.describe_services(cluster="shine", services=["shine"])["services"][0]["taskDefinition"]


def events(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.run("trail", "--format", "json").json()["events"]


def test_a_failing_before_deploy_task_stops_the_deploy_with_exit_1_and_the_service_unchanged(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    previous = live_revision()
    failing = ["sh", "-c", "echo applying 0042_add_column; echo 'relation users does not exist' >&2; exit 2"]
    before_deploy(sandbox, "phase-2", {"name": "migrate", "command": failing})

    result = sandbox.deploy("phase-2", "fake.local/shine:two", "--json")

    assert result.exit_code == 1
    assert live_revision() == previous
    document = result.json()
    assert [s["name"] for s in document["steps"]] == ["register", "before-migrate"]
    assert "before_deploy task migrate failed, so the service was not changed" in document["message"]
    assert "relation users does not exist" in document["message"]  # its output, in the deploy's answer
    assert "| relation users does not exist" in result.stderr  # and shown as it ran
    finished = [e for e in events(sandbox) if e["kind"] == "run.finished"]
    assert [(e["data"]["name"], e["data"]["exit_code"]) for e in finished] == [("migrate", 2)]
    assert finished[0]["data"]["output"] == ["applying 0042_add_column", "relation users does not exist"]
    assert finished[0]["task_definition"] != previous  # it ran with the new revision


def test_before_deploy_tasks_run_in_order_with_the_new_revision_before_the_update(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    before_deploy(
        sandbox,
        "phase-2",
        {"name": "migrate", "command": ["sh", "-c", "echo migrated"]},
        {"name": "seed", "command": ["sh", "-c", "echo seeded"]},
    )

    result = sandbox.deploy("phase-2", "fake.local/shine:two", "--json")

    assert result.exit_code == 0, result.stderr
    steps = [s["name"] for s in result.json()["steps"]]
    assert steps[:4] == ["register", "before-migrate", "before-seed", "update"]
    runs = [e for e in events(sandbox) if e["kind"] == "run.finished"]
    assert [(e["data"]["name"], e["data"]["output"], e["ok"]) for e in runs] == [
        ("migrate", ["migrated"], True),
        ("seed", ["seeded"], True),
    ]
    assert {e["task_definition"] for e in runs} == {live_revision()}


def test_plan_lists_the_before_deploy_steps_with_their_calls(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    before_deploy(sandbox, "phase-2", {"name": "migrate", "command": ["migrate", "--password=hunter2"]})
    planned = sandbox.run("plan", "phase-2", "--image", "fake.local/shine:two", "--json").json()["steps"]
    step = next(s for s in planned if s["name"] == "before-migrate")
    assert step["mutating"] is True and "ecs.RunTask" in step["api_calls"]
    assert "hunter2" not in step["summary"] and "--password=***" in step["summary"]


def test_redaction_masks_values_named_as_secrets_and_keeps_the_rest() -> None:
    assert redact("DB_PASSWORD=hunter2 rows=3") == "DB_PASSWORD=*** rows=3"
    assert redact("api_token: abc") == "api_token: ***"
    assert redact_command(["migrate", "--password", "hunter2", "--rows", "3"]) == [
        "migrate",
        "--password",
        "***",
        "--rows",
        "3",
    ]


def test_a_before_deploy_task_naming_an_unknown_container_is_refused_before_anything_changes(
    sandbox: Sandbox,
) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    before_deploy(sandbox, "phase-2", {"name": "migrate", "command": ["true"], "container": "db-tools"})
    sandbox.api_calls.clear()

    result = sandbox.deploy("phase-2", "fake.local/shine:two")

    assert result.exit_code == 2
    assert "before_deploy[0].container: db-tools is not a container" in result.stderr
    assert "name one of: app" in result.stderr
    # Only the deploy lock was taken and released: no revision registered, no task, no service change.
    assert sandbox.mutating_calls() == ["dynamodb.DeleteItem", "dynamodb.PutItem"]
    assert sandbox.api_calls["dynamodb.PutItem"] == 1
