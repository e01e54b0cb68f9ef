"""snailtrail infra plan | up against moto's CloudFormation: the repository's template, from an empty account."""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from snailtrail.aws.session import AwsClients
from snailtrail.config.settings import load_settings
from snailtrail.errors import DeployFailed
from snailtrail.infra.stack import StackRun
from snailtrail.infra.template import StackInputs
from tests.conftest import Account, write_config


def listeners() -> dict[int, dict[str, Any]]:
    elb = boto3.client("elbv2", region_name="us-east-1")
    balancer = elb.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    found = {}
    for listener in elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]:
        listener["Rules"] = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
        found[listener["Port"]] = listener
    return found


def test_plan_shows_every_resource_the_stack_adds_and_changes_nothing(account: Account) -> None:
    result = account.run("infra", "plan")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("stack shine-unit creates:")
    for line in (
        "+ LoadBalancer (AWS::ElasticLoadBalancingV2::LoadBalancer)",
        "+ ProductionListenerRule (AWS::ElasticLoadBalancingV2::ListenerRule)",
        "+ AlternateTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup)",
        "+ LoadBalancerRole (AWS::IAM::Role)",
        "+ StateTable (AWS::DynamoDB::Table)",
        "+ DnsRecord (AWS::Route53::RecordSet)",
    ):
        assert line in result.stdout
    assert "cloudformation.ExecuteChangeSet" not in account.calls
    assert boto3.client("cloudformation", region_name="us-east-1").list_stacks()["StackSummaries"] == [] or all(
        s["StackStatus"] == "DELETE_COMPLETE"
        for s in boto3.client("cloudformation", region_name="us-east-1").list_stacks()["StackSummaries"]
    )
    assert boto3.client("elbv2", region_name="us-east-1").describe_load_balancers()["LoadBalancers"] == []


def test_up_builds_what_a_deploy_needs_and_a_second_up_changes_nothing(account: Account) -> None:
    result = account.run("infra", "up")
    assert result.exit_code == 0, result.stderr
    assert "stack shine-unit: created (CREATE_COMPLETE)" in result.stdout
    assert "shine-unit (AWS::CloudFormation::Stack) CREATE_COMPLETE" in result.stderr  # the events, as progress
    assert "ExecutionRoleArn: arn:aws:iam::123456789012:role/shine-execution" in result.stdout

    found = listeners()
    https, redirect, test = found[443], found[80], found[8443]
    assert https["Protocol"] == "HTTPS" and https["Certificates"]
    assert redirect["DefaultActions"][0]["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }
    assert test["Protocol"] == "HTTPS"
    for listener in (https, test):
        assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
        (rule,) = [r for r in listener["Rules"] if not r["IsDefault"]]
        assert rule["Priority"] == "10"
        weights = {
            g["TargetGroupArn"].split("/")[1]: g["Weight"] for g in rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
        }
        assert weights == {"shine-tg": 100, "shine-tg-alt": 0}
    groups = boto3.client("elbv2", region_name="us-east-1").describe_target_groups()["TargetGroups"]
    assert {(g["TargetGroupName"], g["TargetType"], g["HealthCheckPath"]) for g in groups} == {
        ("shine-tg", "ip", "/health"),
        ("shine-tg-alt", "ip", "/health"),
    }
    ec2 = boto3.client("ec2", region_name="us-east-1")
    tasks = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shine-tasks"]}])["SecurityGroups"][
        0
    ]
    alb = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shine-alb"]}])["SecurityGroups"][0]
    assert [(p["FromPort"], [g["GroupId"] for g in p["UserIdGroupPairs"]]) for p in tasks["IpPermissions"]] == [
        (8000, [alb["GroupId"]])
    ]
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName="snailtrail-state")["Table"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {"pk": "HASH", "sk": "RANGE"}
    (group,) = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="/ecs/shine")[
        "logGroups"
    ]
    assert group["retentionInDays"] == 30
    iam = boto3.client("iam", region_name="us-east-1")
    trust = iam.get_role(RoleName="shine-ecs-load-balancers")["Role"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    boto3.client("s3", region_name="us-east-1").head_bucket(Bucket="shine-models-123456789012")

    again = account.run("infra", "up", "--json")
    assert again.exit_code == 0, again.stderr
    document = again.json()
    assert document["no_changes"] is True and document["executed"] is False
    assert document["outputs"]["TargetGroupName"] == "shine-tg"
    assert "cloudformation.ExecuteChangeSet" not in account.calls


def test_a_changed_template_is_shown_as_a_modification_before_it_is_made(
    account: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As after an upgrade of snailtrail whose template keeps the logs longer. (A changed parameter is a
    modification too on AWS; moto's change sets compare templates only.)"""
    from snailtrail.infra import template as infra_template

    assert account.run("infra", "up").exit_code == 0
    original = infra_template.load_template

    def upgraded(name: str) -> dict[str, Any]:
        template = original(name)
        template["Resources"]["LogGroup"]["Properties"]["RetentionInDays"] = 90
        return template

    monkeypatch.setattr(infra_template, "load_template", upgraded)
    result = account.run("infra", "plan")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == ["stack shine-unit updates:", "~ LogGroup (AWS::Logs::LogGroup)"]
    group = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="/ecs/shine")
    assert group["logGroups"][0]["retentionInDays"] == 30  # plan executed nothing
    updated = account.run("infra", "up")
    assert updated.exit_code == 0 and "stack shine-unit: updated (UPDATE_COMPLETE)" in updated.stdout
    assert account.calls["cloudformation.ExecuteChangeSet"] == 1


def test_credentials_of_another_account_change_nothing(account: Account) -> None:
    account.edit(account_id="111122223333")
    result = account.run("infra", "up")
    assert result.exit_code == 2
    assert "account 123456789012" in result.stderr and "111122223333" in result.stderr
    assert not [c for c in account.calls if c.startswith("cloudformation.")]


def test_a_configuration_naming_other_arns_than_the_stack_made_is_told_which(account: Account) -> None:
    account.edit(task_role_arn="arn:aws:iam::123456789012:role/apps/shine-task")  # a path the stack does not give
    result = account.run("infra", "up", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["configuration_mismatches"] == [
        "environments.unit.task_role_arn is arn:aws:iam::123456789012:role/apps/shine-task; the stack made "
        "arn:aws:iam::123456789012:role/shine-task: set it to that"
    ]


def stack_event(event_id: str, logical: str, status: str, reason: str | None = None) -> dict[str, Any]:
    event = {
        "StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/shine-production/1",
        "EventId": event_id,
        "StackName": "shine-production",
        "LogicalResourceId": logical,
        "ResourceType": "AWS::CloudFormation::Stack"
        if logical == "shine-production"
        else "AWS::ElasticLoadBalancingV2::Listener",
        "Timestamp": datetime.datetime(2026, 12, 2, tzinfo=datetime.UTC),
        "ResourceStatus": status,
    }
    return event | ({"ResourceStatusReason": reason} if reason else {})


def test_a_failed_update_names_the_resource_with_cloudformations_reason(aws_env: None) -> None:
    """The answers of a real update that failed (moto's CloudFormation raises at ExecuteChangeSet instead)."""
    settings = load_settings(str(write_config(Path("/nonexistent-never-read"), "https://x", 8443)))
    clients = AwsClients(settings.environment)
    cloudformation = clients.client("cloudformation")
    stack = {"StackName": "shine-production", "CreationTime": datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)}
    change = {
        "ResourceChange": {
            "Action": "Modify",
            "LogicalResourceId": "ProductionListener",
            "ResourceType": "AWS::ElasticLoadBalancingV2::Listener",
            "Replacement": "False",
        }
    }
    reason = "Certificate 'arn:aws:acm:eu-west-1:111122223333:certificate/x' not found"
    with Stubber(cloudformation) as stub:
        stub.add_response("describe_stacks", {"Stacks": [stack | {"StackStatus": "UPDATE_COMPLETE"}]})
        stub.add_response("create_change_set", {"Id": "arn:cs", "StackId": "arn:stack"})
        stub.add_response("describe_change_set", {"Status": "CREATE_COMPLETE", "Changes": [change]})
        stub.add_response(
            "describe_stack_events", {"StackEvents": [stack_event("old", "shine-production", "UPDATE_COMPLETE")]}
        )
        stub.add_response("execute_change_set", {})
        stub.add_response(
            "describe_stack_events",
            {
                "StackEvents": [
                    stack_event(
                        "e3", "shine-production", "UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed"
                    ),
                    stack_event("e2", "ProductionListener", "UPDATE_FAILED", reason),
                    stack_event("e1", "ProductionListener", "UPDATE_IN_PROGRESS"),
                    stack_event("old", "shine-production", "UPDATE_COMPLETE"),
                ]
            },
        )
        stub.add_response("describe_stacks", {"Stacks": [stack | {"StackStatus": "UPDATE_ROLLBACK_COMPLETE"}]})
        stub.add_response(
            "describe_stack_events",
            {"StackEvents": [stack_event("e3", "shine-production", "UPDATE_ROLLBACK_IN_PROGRESS")]},
        )
        progress: list[str] = []
        run = StackRun(clients, StackInputs("shine-production", {}, {}), poll_interval_s=0, on_event=progress.append)
        run.api._cfn = cloudformation
        with pytest.raises(DeployFailed) as failed:
            run.up()
    message = failed.value.message
    assert "stack shine-production ended UPDATE_ROLLBACK_COMPLETE" in message
    assert f"ProductionListener (AWS::ElasticLoadBalancingV2::Listener) UPDATE_FAILED: {reason}" in message
    assert progress == [
        "ProductionListener (AWS::ElasticLoadBalancingV2::Listener) UPDATE_IN_PROGRESS",
        f"ProductionListener (AWS::ElasticLoadBalancingV2::Listener) UPDATE_FAILED: {reason}",
        "shine-production (AWS::CloudFormation::Stack) UPDATE_ROLLBACK_IN_PROGRESS: The following resource(s) failed",
    ]


def test_the_change_set_renders_each_propertys_value_before_and_after(aws_env: None) -> None:
    from snailtrail.infra.stack import ResourceChange

    change = ResourceChange.from_change(
        {
            "ResourceChange": {
                "Action": "Modify",
                "LogicalResourceId": "PrimaryTargetGroup",
                "ResourceType": "AWS::ElasticLoadBalancingV2::TargetGroup",
                "Replacement": "True",
                "Details": [
                    {
                        "Target": {
                            "Attribute": "Properties",
                            "Name": "HealthCheckPath",
                            "Path": "/Properties/HealthCheckPath",
                            "BeforeValue": "/",
                            "AfterValue": "/health",
                            "RequiresRecreation": "Never",
                        }
                    }
                ],
            }
        }
    )
    assert change.lines() == [
        "~ PrimaryTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) REPLACED",
        "    /Properties/HealthCheckPath: / -> /health",
    ]
    assert json.dumps(change.to_json())
