"""verify on accounts shaped as real ones are: no false failures (in-process moto; botocore's Stubber
with responses shaped as AWS documents them where moto cannot express the case)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from snailtrail.checks.base import Status
from snailtrail.checks.infra import network_path
from snailtrail.checks.service import log_group, secrets_exist
from snailtrail.checks.view import LiveView
from snailtrail.config import load_settings
from snailtrail.context import Context
from snailtrail.ui import Reporter
from tests.conftest import write_config


@pytest.fixture
def view(aws_env: None, tmp_path: Path) -> Iterator[LiveView]:
    from moto import mock_aws

    with mock_aws():
        settings = load_settings(str(write_config(tmp_path, "https://shine.example.com")))
        yield LiveView(Context(settings, Reporter(quiet=True)))


def running(view: LiveView, monkeypatch: pytest.MonkeyPatch, container: dict[str, Any]) -> None:
    """The service's running revision has this container definition."""
    revision = SimpleNamespace(definition={"containerDefinitions": [{"name": "app", **container}]})
    monkeypatch.setattr(view, "running_revision", lambda: revision)


def test_a_log_group_on_a_later_page_exists(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = view.ctx.clients.client("logs")
    awslogs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shine", "awslogs-region": "us-east-1"}}
    running(view, monkeypatch, {"logConfiguration": awslogs})
    with Stubber(logs) as stub:
        # DescribeLogGroups may answer a page without the group, and a nextToken to the rest.
        stub.add_response("describe_log_groups", {"logGroups": [], "nextToken": "page-2"})
        stub.add_response("describe_log_groups", {"logGroups": [{"logGroupName": "/ecs/shine"}]})
        result = log_group(view, None)
    assert result.status is Status.PASS, result.summary


def test_the_public_zone_is_read_when_a_private_zone_has_the_same_name(view: LiveView, tmp_path: Path) -> None:
    route53 = boto3.client("route53", region_name="us-east-1")
    vpc = boto3.client("ec2", region_name="us-east-1").create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    route53.create_hosted_zone(
        Name="sandbox.test",
        CallerReference="private",
        HostedZoneConfig={"PrivateZone": True},
        VPC={"VPCRegion": "us-east-1", "VPCId": vpc},
    )
    public = route53.create_hosted_zone(Name="sandbox.test", CallerReference="public")["HostedZone"]["Id"]
    route53.change_resource_record_sets(
        HostedZoneId=public,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "shine.sandbox.test",
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": "shine-alb.example.com"}],
                    },
                }
            ]
        },
    )
    document = (tmp_path / "snailtrail.yaml").read_text()
    config = tmp_path / "snailtrail.yaml"
    config.write_text(document.replace("name: shine.sandbox.test", "name: Shine.Sandbox.Test."))
    upper = LiveView(Context(load_settings(str(config)), Reporter(quiet=True)))

    found = upper.route53_record() or {}

    assert found.get("zone") == public
    assert (found.get("record") or {}).get("Name", "").rstrip(".") == "shine.sandbox.test"


def test_secrets_in_every_form_ecs_documents_are_found(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="shine-db-url", Value="x", Type="SecureString")
    ssm.put_parameter(Name="/shine/api-key", Value="x", Type="SecureString")
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="shine-db", SecretString='{"password": "x"}'
    )["ARN"]
    forms = {
        "BARE_NAME": "shine-db-url",  # a parameter in the task's own region, by name
        "ARN_NO_SLASH": "arn:aws:ssm:us-east-1:123456789012:parameter/shine-db-url",
        "ARN_HIERARCHY": "arn:aws:ssm:us-east-1:123456789012:parameter/shine/api-key",
        "JSON_KEY": f"{secret}:password::",  # arn:...:secret:name-AbCdEf:json-key:version-stage:version-id
        "WHOLE_SECRET": secret,
    }
    running(view, monkeypatch, {"secrets": [{"name": k, "valueFrom": v} for k, v in forms.items()]})
    assert secrets_exist(view, None).status is Status.PASS, secrets_exist(view, None).summary

    running(view, monkeypatch, {"secrets": [{"name": "GONE", "valueFrom": "shine-gone"}]})
    missing = secrets_exist(view, None)
    assert missing.status is Status.FAIL and "GONE (shine-gone)" in missing.summary


def test_a_default_route_through_a_transit_gateway_is_a_private_path(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.2.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.2.1.0/24")["Subnet"]["SubnetId"]
    table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
    ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    gateway = ec2.create_transit_gateway()["TransitGateway"]["TransitGatewayId"]
    ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", TransitGatewayId=gateway)
    awsvpc = {"subnets": [subnet], "securityGroups": [], "assignPublicIp": "DISABLED"}
    monkeypatch.setattr(view, "service", lambda: {"networkConfiguration": {"awsvpcConfiguration": awsvpc}})

    result = network_path(view, None)

    assert result.status is Status.PASS, result.summary
