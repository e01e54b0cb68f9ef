"""verify's rollback readiness: the revision an incident rollback needs can still run, and nothing races it."""

from __future__ import annotations

import boto3

from tests.checks.test_verify import checks_by_name
from tests.commands.test_deploy import GOOD_1, GOOD_2
from tests.conftest import EXECUTION_ROLE_ARN, Sandbox

NAME = "rollback readiness"


def test_a_ready_target_passes_and_a_first_deploy_warns_it_has_none(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    _, checks = checks_by_name(sandbox, "--only", NAME)
    assert checks[NAME]["status"] == "warn" and "nothing to roll back to" in checks[NAME]["summary"]
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    code, checks = checks_by_name(sandbox, "--only", NAME)
    assert code == 0 and checks[NAME]["status"] == "pass", checks[NAME]
    assert "shine:1 (phase-1) is ACTIVE" in checks[NAME]["summary"]


def test_a_target_whose_role_is_gone_fails_naming_it(sandbox: Sandbox) -> None:
    role = "arn:aws:iam::123456789012:role/shine-execution-deleted"
    sandbox.edit_config(lambda document: document["environments"]["unit"].update(execution_role_arn=role))
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.edit_config(lambda document: document["environments"]["unit"].update(execution_role_arn=EXECUTION_ROLE_ARN))
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    code, checks = checks_by_name(sandbox, "--only", NAME)
    assert code == 1 and checks[NAME]["status"] == "fail"
    assert f"its executionRoleArn {role} does not exist" in checks[NAME]["summary"]


def test_a_deregistered_target_is_passed_over_for_an_older_verified_one(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-b").exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    boto3.client("ecs", region_name="us-east-1").deregister_task_definition(taskDefinition="shine:2")
    _, checks = checks_by_name(sandbox, "--only", NAME)
    assert checks[NAME]["status"] == "pass" and "shine:1 (phase-1)" in checks[NAME]["summary"]


def test_ecs_own_circuit_breaker_rollback_warns(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    boto3.client("ecs", region_name="us-east-1").update_service(
        cluster="shine",
        service="shine",
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    code, checks = checks_by_name(sandbox, "--only", NAME)
    assert code == 0 and checks[NAME]["status"] == "warn"
    assert "circuit breaker's rollback is enabled" in checks[NAME]["summary"]
    assert "deploymentCircuitBreaker.rollback" in checks[NAME]["fix"]
    assert "alarms.rollback" not in checks[NAME]["fix"]


def test_ecs_alarm_rollback_is_not_a_race_and_is_left_on(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    boto3.client("ecs", region_name="us-east-1").update_service(
        cluster="shine",
        service="shine",
        deploymentConfiguration={"alarms": {"alarmNames": ["shine-5xx"], "enable": True, "rollback": True}},
    )
    code, checks = checks_by_name(sandbox, "--only", NAME)
    assert code == 0 and checks[NAME]["status"] == "pass", checks[NAME]
