"""Migration-aware rollback: revisions tagged with the schemas they run against, the trail's schema, and rollbacks
that never return to a revision the database's schema has left behind."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from snailtrail.state.schema import TAG_OLDEST_SCHEMA, TAG_SCHEMA, incompatibility
from tests.conftest import CRASHING, Sandbox


def declare(sandbox: Sandbox, phase: str, version: int, oldest: int, migration: str | None = "migrate") -> None:
    def change(document: dict[str, Any]) -> None:
        document["schema"] = {"version": version, "oldest_compatible": oldest}
        if migration:
            document["before_deploy"] = [{"name": migration, "command": ["sh", "-c", f"echo schema {version}"]}]

    sandbox.edit_phase(phase, change)


def live_revision() -> str:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return ecs.describe_services(cluster="shine", services=["shine"])["services"][0]["taskDefinition"]


def events(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    return [e for e in sandbox.run("trail", "--format", "json").json()["events"] if e["kind"] == kind]


@pytest.fixture
def migrated(sandbox: Sandbox) -> Sandbox:
    """phase-1 (schema 1) then phase-2, whose migration leaves the database at schema 2."""
    declare(sandbox, "phase-1", 1, 1)
    declare(sandbox, "phase-2", 2, 1)
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    assert sandbox.deploy("phase-2", "fake.local/shine:two").exit_code == 0
    return sandbox


def test_revisions_carry_their_schema_range_and_the_trail_the_schema_each_deploy_left(migrated: Sandbox) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    tags = ecs.describe_task_definition(taskDefinition=live_revision(), include=["TAGS"])["tags"]
    assert {t["key"]: t["value"] for t in tags if "schema" in t["key"]} == {TAG_SCHEMA: "2", TAG_OLDEST_SCHEMA: "1"}
    assert [e["data"]["schema"] for e in events(migrated, "deploy.finished")] == [1, 2]
    assert [e["data"]["schema"] for e in events(migrated, "schema.changed")] == [1, 2]


def test_rollback_refuses_a_revision_older_than_the_schema_and_says_why(migrated: Sandbox) -> None:
    current = live_revision()

    result = migrated.run("rollback", "--json")

    assert result.exit_code == 3
    document = result.json()
    assert "no verified revision can run against the database's schema 2" in document["error"]
    assert "shine:1 (phase-1, schema 1-1)" in document["error"]
    assert "forward fix" in document["fix"] and "snailtrail run PHASE --leaves-schema N" in document["fix"]
    assert live_revision() == current

    listed = migrated.run("rollback", "--list", "--json").json()
    assert listed["schema"] == 2 and listed["default_target"] is None
    older = next(c for c in listed["candidates"] if c["phase"] == "phase-1")
    assert older["eligible"] is False and older["schema"] == "1-1"
    assert older["reason"] == (
        "runs against schema 1-1, and migrations have since left the database at schema 2: "
        "the revision is older than the schema"
    )
    text = migrated.run("rollback", "--list").stdout
    assert "The database is at schema 2" in text and "the revision is older than the schema" in text


def test_rollback_to_a_phase_or_revision_older_than_the_schema_is_refused(migrated: Sandbox) -> None:
    by_phase = migrated.run("rollback", "--to", "phase-1")
    assert by_phase.exit_code == 3
    assert "phase-1's last verified revision cannot run against the database's schema" in by_phase.stderr
    candidates = migrated.run("rollback", "--list", "--json").json()["candidates"]
    older = next(c for c in candidates if c["phase"] == "phase-1")
    by_arn = migrated.run("rollback", "--to", older["task_definition"])
    assert by_arn.exit_code == 3
    assert "the revision is older than the schema" in by_arn.stderr


def test_a_down_migration_run_with_leaves_schema_makes_the_older_revision_eligible_again(migrated: Sandbox) -> None:
    down = migrated.run("run", "phase-2", "--leaves-schema", "1", "--poll-interval", "0.05", "--", "sh", "-c", "true")
    assert down.exit_code == 0, down.stderr
    assert [e["data"]["schema"] for e in events(migrated, "schema.changed")] == [1, 2, 1]

    result = migrated.run("rollback", "--timeout", "20", "--poll-interval", "0.05")

    assert result.exit_code == 0, result.stderr
    assert live_revision().endswith(":1")


def test_a_failed_down_migration_leaves_the_schema_as_it_was(migrated: Sandbox) -> None:
    down = migrated.run("run", "phase-2", "--leaves-schema", "1", "--poll-interval", "0.05", "--", "sh", "-c", "exit 1")
    assert down.exit_code == 1
    assert [e["data"]["schema"] for e in events(migrated, "schema.changed")] == [1, 2]


def test_a_deploy_that_fails_after_its_migration_does_not_roll_back_behind_the_schema(sandbox: Sandbox) -> None:
    declare(sandbox, "phase-1", 1, 1)
    declare(sandbox, "phase-2", 2, 2)
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    sandbox.break_phase("phase-2", CRASHING)

    result = sandbox.deploy("phase-2", "fake.local/shine:crash", "--json")

    assert result.exit_code == 3  # the service needs a human: its migration ran, its revision crashes
    document = result.json()
    assert "no verified revision can run against the database's schema 2" in document["message"]
    assert "forward fix" in document["fix"]
    assert [e["data"]["schema"] for e in events(sandbox, "deploy.finished")] == [1, 2]
    assert not live_revision().endswith(":1")


@pytest.mark.parametrize(
    ("tags", "schema", "refused"),
    [
        ({}, 5, False),  # a revision that declares no schema: nothing is known against it
        ({TAG_SCHEMA: "2", TAG_OLDEST_SCHEMA: "1"}, None, False),  # no schema recorded yet
        ({TAG_SCHEMA: "2", TAG_OLDEST_SCHEMA: "1"}, 1, False),
        ({TAG_SCHEMA: "2", TAG_OLDEST_SCHEMA: "1"}, 2, False),
        ({TAG_SCHEMA: "2", TAG_OLDEST_SCHEMA: "1"}, 3, True),
        ({TAG_SCHEMA: "3", TAG_OLDEST_SCHEMA: "3"}, 2, True),
    ],
)
def test_a_revision_runs_against_the_schemas_from_its_oldest_compatible_to_its_version(
    tags: dict[str, str], schema: int | None, refused: bool
) -> None:
    assert (incompatibility(tags, schema) is not None) is refused


def test_plan_warns_when_the_phases_migrations_would_leave_its_rollback_target_behind(sandbox: Sandbox) -> None:
    declare(sandbox, "phase-1", 1, 1)
    declare(sandbox, "phase-2", 2, 2)
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0

    result = sandbox.run("plan", "phase-2", "--image", "fake.local/shine:two")

    assert result.exit_code == 0
    assert "after phase-2's migrations (schema 2), a failed deploy cannot roll back to shine:1" in result.stderr
    assert "which runs against schema 1-1" in result.stderr


def test_run_warns_when_the_phases_revision_is_older_than_the_schema(migrated: Sandbox) -> None:
    result = migrated.run("run", "phase-1", "--poll-interval", "0.05", "--", "sh", "-c", "true")
    assert result.exit_code == 0
    assert "shine:1 runs against schema 1-1, and migrations have since left the database at schema 2" in result.stderr
