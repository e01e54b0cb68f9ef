"""Provisioning creates what the configuration names, so AWS's rules can be met in the sandbox."""

from __future__ import annotations

import json
import urllib.parse

import boto3

from tests.conftest import EXECUTION_ROLE_ARN, Sandbox


def test_the_configured_execution_role_exists_and_trusts_ecs_tasks(sandbox: Sandbox) -> None:
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="shine-execution")["Role"]
    assert role["Arn"] == EXECUTION_ROLE_ARN
    policy = role["AssumeRolePolicyDocument"]
    trust = json.loads(urllib.parse.unquote(policy)) if isinstance(policy, str) else policy
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_the_configured_log_group_exists(sandbox: Sandbox) -> None:
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="/ecs/shine")
    assert [g["logGroupName"] for g in groups["logGroups"]] == ["/ecs/shine"]
