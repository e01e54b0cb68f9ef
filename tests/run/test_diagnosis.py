"""A failed rollout explains itself: the stopped tasks' own log lines, and the checks for ECS's reason."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from snailtrail.aws.ecs import TAG_FINGERPRINT
from snailtrail.plan.taskdef import fingerprint
from snailtrail.run.diagnosis import causes, most_telling
from tests.conftest import Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
# A service that cannot start without its configuration: what it says, on stdout then stderr, and its exit.
FATAL_AT_START = ["sh", "-c", "echo starting shine; echo FATAL: DATABASE_URL is not set >&2; exit 1"]


def stopped_events(sandbox: Sandbox) -> list[dict[str, Any]]:
    return [e for e in sandbox.run("trail", "--format", "json").json()["events"] if e["kind"] == "tasks.stopped"]


def test_a_crashing_deploy_shows_and_trails_the_tasks_last_log_lines(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", FATAL_AT_START)
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2", "--json")
    assert result.exit_code == 1, result.stderr
    assert "| FATAL: DATABASE_URL is not set" in result.stderr
    assert "logged: FATAL: DATABASE_URL is not set" in result.json()["message"]
    event = stopped_events(sandbox)[-1]
    task = event["data"]["tasks"][0]
    assert task["logs"]["app"] == ["starting shine", "FATAL: DATABASE_URL is not set"]
    assert "exit code 1" in task["stopped"] and event["phase"] == "phase-2"
    markdown = sandbox.run("trail", "--format", "markdown").stdout
    assert f"{task['task'][:8]} app | FATAL: DATABASE_URL is not set" in markdown


# A drill that warns, then an app that carries on: its last line says nothing about the failure.
WARNS_THEN_SETTLES = [
    "sh",
    "-c",
    "echo 'WARNING shine: DRILL: SHINE_DRILL_WRONG_PORT set, ignoring PORT=8000 and listening on 8080'; "
    "echo 'INFO shine.ml: ML settled in 0.4 s mode=enhanced'; exit 1",
]


def test_the_failure_message_quotes_each_tasks_most_telling_line_not_its_last(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", WARNS_THEN_SETTLES)
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2", "--json")
    assert result.exit_code == 1, result.stderr
    message = result.json()["message"]
    assert "logged: WARNING shine: DRILL: SHINE_DRILL_WRONG_PORT set, ignoring PORT=8000" in message
    assert "logged: INFO shine.ml: ML settled" not in message


@pytest.mark.parametrize(
    ("lines", "telling"),
    [
        (
            [
                "Traceback (most recent call last):",
                '  File "/app/shine/ml.py", line 3, in <module>',
                "ModuleNotFoundError: No module named 'cv2'",
                "worker exiting",
            ],
            "ModuleNotFoundError: No module named 'cv2'",
        ),
        (["ERROR cannot reach s3", "WARNING retrying", "INFO giving up"], "ERROR cannot reach s3"),
        (["WARNING first", "WARNING second", "INFO done"], "WARNING second"),
        (["starting", "listening on 8000"], "listening on 8000"),
        # A pretty-printed JSON record: its closing brace is the last line, and says nothing.
        (
            ["{", '  "message": "models not found in s3://shine-models"', "}", ""],
            '  "message": "models not found in s3://shine-models"',
        ),
    ],
)
def test_the_most_telling_line_is_an_error_over_a_warning_over_the_last_worded_one(
    lines: list[str], telling: str
) -> None:
    assert most_telling(lines) == telling


def revision_verified_without_log_configuration(sandbox: Sandbox, command: list[str]) -> str:
    """A revision of the family verified before the environment named a log group (an older snailtrail
    did not ask for one): the newest revision's definition and tags, without logConfiguration and running
    ``command``, with its own fingerprint, registered through the public API as it once was. Its ARN."""
    arn = sandbox.copy_revision(GOOD_1, keep_tags=True, command=command, without_logs=True)
    ecs = boto3.client("ecs", region_name="us-east-1")
    definition = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    ecs.tag_resource(resourceArn=arn, tags=[{"key": TAG_FINGERPRINT, "value": fingerprint(definition)}])
    return arn


def test_without_awslogs_the_failure_says_why_there_are_no_logs(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    old = revision_verified_without_log_configuration(sandbox, FATAL_AT_START)
    result = sandbox.run("rollback", "--to", old, "--timeout", "20", "--poll-interval", "0.05")
    assert result.exit_code == 3, result.stderr
    assert "no logs of container app: the container has no logConfiguration" in result.stderr
    assert "no logConfiguration" in stopped_events(sandbox)[-1]["data"]["tasks"][0]["logs_unavailable"]["app"]


def test_failed_elb_health_checks_run_the_port_security_group_and_health_path_checks(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", SHINE_DRILL_WRONG_PORT="8080")
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-wrong-port")
    assert result.exit_code == 1
    data = stopped_events(sandbox)[-1]["data"]
    assert data["causes"] == ["the load balancer's health checks failed"]
    ran = {check["name"] for check in data["checks"]}
    assert ran == {"port alignment", "security groups", "health check path", "target health"}
    assert "checks for the load balancer's health checks failed:" in result.stderr
    assert "health check path: shine-tg requests /health" in result.stderr


def stopped(reason: str, exit_code: int | None = None, container_reason: str | None = None) -> dict[str, Any]:
    return {"stoppedReason": reason, "containers": [{"name": "app", "exitCode": exit_code, "reason": container_reason}]}


@pytest.mark.parametrize(
    "task, cause, check",
    [
        (stopped("CannotPullContainerError: pull image manifest has been retried"), "pulled", "network path"),
        (stopped("CannotPullContainerError: ref not found"), "pulled", "image config"),
        (stopped("ResourceInitializationError: unable to pull secrets"), "initialised", "secrets exist"),
        (stopped("ResourceInitializationError: unable to pull secrets"), "initialised", "roles"),
        (stopped("Essential container in task exited", 137), "exit code 137", "memory"),
        (stopped("Essential container in task exited", 137, "OutOfMemoryError: Container killed"), "memory", "memory"),
        (stopped("Task failed ELB health checks in (target-group arn)"), "health checks", "security groups"),
    ],
)
def test_each_stop_reason_names_the_checks_that_explain_it(task: dict[str, Any], cause: str, check: str) -> None:
    found = causes(task)
    assert any(cause in said and check in checks for said, checks in found), found


def test_an_out_of_memory_kill_is_one_cause_not_two() -> None:
    task = stopped("Essential container in task exited", 137, "OutOfMemoryError: Container killed")
    assert [said for said, _ in causes(task)] == ["killed for memory"]


def test_an_app_error_exit_points_to_no_check() -> None:
    assert causes(stopped("Essential container in task exited", 1)) == []
