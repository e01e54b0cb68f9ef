"""snailtrail run: a one-off task of a phase's revision, its output streamed and its exit code the command's."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest

from tests.conftest import Sandbox


def run(sandbox: Sandbox, *args: str) -> Any:
    return sandbox.run("run", *args[:-1], "--poll-interval", "0.05", "--", *args[-1].split("\x1f"))


def shell(script: str) -> str:
    """A command as `run` takes it after --: sh -c SCRIPT."""
    return "\x1f".join(["sh", "-c", script])


def trail_events(sandbox: Sandbox, kind: str) -> list[dict[str, Any]]:
    result = sandbox.run("trail", "--format", "json")
    return [e for e in result.json()["events"] if e["kind"] == kind]


@pytest.fixture
def deployed(sandbox: Sandbox) -> Sandbox:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    return sandbox


def test_exit_code_0_is_0_and_the_output_is_printed(deployed: Sandbox) -> None:
    result = run(deployed, "phase-1", shell("echo migrated 3 tables"))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["migrated 3 tables"]
    assert "the revision the service runs" in result.stderr


def test_exit_code_3_is_3_and_the_trail_records_it(deployed: Sandbox) -> None:
    result = run(deployed, "phase-1", shell("echo 'no such table' >&2; exit 3"))
    assert result.exit_code == 3
    assert "no such table" in result.stdout
    assert "exited 3" in result.stderr
    started, finished = trail_events(deployed, "run.started"), trail_events(deployed, "run.finished")
    assert [e["data"]["command"] for e in started] == [["sh", "-c", "echo 'no such table' >&2; exit 3"]]
    assert [(e["ok"], e["data"]["exit_code"], e["data"]["output"]) for e in finished] == [(False, 3, ["no such table"])]
    assert finished[0]["run_id"] == started[0]["run_id"]


def test_the_task_runs_in_the_services_network_with_the_command_override(deployed: Sandbox) -> None:
    result = run(deployed, "--json", "phase-1", shell("exit 0"))
    ecs = boto3.client("ecs", region_name="us-east-1")
    task = ecs.describe_tasks(cluster="shine", tasks=[result.json()["task"]])["tasks"][0]
    service = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
    subnet = next(d["value"] for d in task["attachments"][0]["details"] if d["name"] == "subnetId")
    assert subnet in service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert task["overrides"]["containerOverrides"] == [{"name": "app", "command": ["sh", "-c", "exit 0"]}]
    assert (task["launchType"], task["startedBy"]) == ("FARGATE", "snailtrail-run")


def test_json_gives_the_task_its_exit_code_and_its_log_stream(deployed: Sandbox) -> None:
    result = run(deployed, "--json", "phase-1", shell("echo hello; exit 4"))
    assert result.exit_code == 4
    document = result.json()
    task_id = document["task"].rsplit("/", 1)[-1]
    assert (document["exit_code"], document["exit_status"], document["ok"]) == (4, 4, False)
    assert document["logs"] == {"group": "/ecs/shine", "stream": f"shine/app/{task_id}", "unavailable": None}
    assert document["output"] == ["hello"]
    assert (document["phase"], document["source"], document["container"]) == ("phase-1", "live", "app")
    assert "hello" in result.stderr  # the output still streams, on stderr, so stdout is the one document


def test_a_task_that_cannot_start_exits_1_with_ecss_reason(deployed: Sandbox) -> None:
    deployed.drill("route-table")
    result = run(deployed, "--json", "phase-1", shell("exit 0"))
    assert result.exit_code == 1
    document = result.json()
    assert document["exit_code"] is None
    assert document["stopped_reason"].startswith("CannotPullContainerError")
    assert "could not start: CannotPullContainerError" in result.stderr


def test_timeout_stops_the_task_and_exits_124_saying_so(deployed: Sandbox) -> None:
    result = run(deployed, "phase-1", "--timeout", "1", shell("echo waiting; sleep 30"))
    assert result.exit_code == 124
    assert "did not finish in time and was stopped: snailtrail run: --timeout 1 s reached" in result.stderr
    assert "ecs.StopTask" in deployed.api_calls
    finished = trail_events(deployed, "run.finished")
    assert finished[0]["data"]["timed_out"] is True and finished[0]["ok"] is False


def test_a_phase_not_running_runs_its_last_verified_revision(deployed: Sandbox) -> None:
    assert deployed.deploy("phase-2", "fake.local/shine:two").exit_code == 0
    result = run(deployed, "--json", "phase-1", shell("exit 0"))
    assert result.exit_code == 0
    assert (result.json()["source"], result.json()["task_definition"].rsplit(":", 1)[-1]) == ("verified", "1")
    assert "its last verified revision" in result.stderr


def test_a_phase_with_no_revision_is_refused_with_the_fix(deployed: Sandbox) -> None:
    result = run(deployed, "phase-3", shell("exit 0"))
    assert result.exit_code == 2
    assert "phase-3 has no revision to run" in result.stderr
    assert "snailtrail deploy phase-3" in result.stderr
    assert "ecs.RunTask" not in deployed.api_calls


def test_an_unknown_container_is_refused_naming_the_revisions_containers(deployed: Sandbox) -> None:
    result = run(deployed, "phase-1", "--container", "sidecar", shell("exit 0"))
    assert result.exit_code == 2
    assert "no container named sidecar" in result.stderr and "--container one of: app" in result.stderr
    assert "ecs.RunTask" not in deployed.api_calls


def test_secrets_in_the_command_and_the_output_are_masked(deployed: Sandbox) -> None:
    result = run(deployed, "--json", "phase-1", shell("echo DB_PASSWORD=hunter2"))
    assert "hunter2" not in result.stdout + result.stderr
    assert result.json()["output"] == ["DB_PASSWORD=***"]
    assert "hunter2" not in json.dumps(trail_events(deployed, "run.started"))


def test_the_trail_renders_a_run_with_its_outcome_and_its_last_lines(deployed: Sandbox) -> None:
    assert run(deployed, "phase-1", shell("echo step one; echo 'step two failed'; exit 5")).exit_code == 5
    rendered = deployed.run("trail").stdout
    heading = next(line for line in rendered.splitlines() if line.startswith("### ") and "run: sh -c" in line)
    assert "— failed" in heading
    assert "    step one\n    step two failed" in rendered
