"""Provisioning creates what the configuration names, so AWS's rules can be met in the sandbox."""

from __future__ import annotations

import json
import urllib.parse

import boto3

from tests.conftest import EXECUTION_ROLE_ARN, Sandbox


def test_the_configured_execution_role_exists_and_trusts_ecs_tasks(sandbox: Sandbox) -> None:
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="shine-task-execution")["Role"]
    assert role["Arn"] == EXECUTION_ROLE_ARN
    policy = role["AssumeRolePolicyDocument"]
    trust = json.loads(urllib.parse.unquote(policy)) if isinstance(policy, str) else policy
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_a_deploy_with_awslogs_and_no_execution_role_fails_as_on_aws(sandbox: Sandbox) -> None:
    def awslogs_without_role(doc: dict) -> None:
        doc["service"]["log_group"] = "/ecs/shine"
        del doc["service"]["execution_role_arn"]

    sandbox.edit_config(awslogs_without_role)
    result = sandbox.deploy("phase-1", "fake.local/shine:phase-1-good")
    assert result.exit_code != 0
    assert "Fargate requires task definition to have execution role ARN to support log driver awslogs" in (
        result.stdout + result.stderr
    )
    assert boto3.client("ecs", region_name="us-east-1").list_task_definitions()["taskDefinitionArns"] == []
