"""verify's shared view on accounts shaped as real ones: every page read, the public zone, DNS names
compared as DNS compares them (botocore's Stubber where moto cannot express the case)."""

from __future__ import annotations

from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from snailtrail.checks.base import Status
from snailtrail.checks.service import log_group
from snailtrail.checks.view import LiveView
from snailtrail.config.settings import load_settings
from snailtrail.context import Context
from snailtrail.ui import Reporter
from tests.checks.conftest import running


def test_a_log_group_on_a_later_page_exists(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    logs = view.ctx.clients.client("logs")
    awslogs = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shine", "awslogs-region": "us-east-1"}}
    running(view, monkeypatch, {"logConfiguration": awslogs})
    with Stubber(logs) as stub:
        # DescribeLogGroups may answer a page without the group, and a nextToken to the rest.
        stub.add_response("describe_log_groups", {"logGroups": [], "nextToken": "page-2"})
        stub.add_response("describe_log_groups", {"logGroups": [{"logGroupName": "/ecs/shine"}]})
        result = log_group(view, None)
        stub.assert_no_pending_responses()  # both pages were read
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

    found = upper.route53_record()

    assert found is not None and found.zone_id == public
    assert (found.record or {}).get("Name", "").rstrip(".") == "shine.sandbox.test"


def test_a_secret_both_secret_and_rollback_checks_ask_about_is_described_once(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    from types import SimpleNamespace

    from snailtrail.checks.rollback_readiness import _target_problems
    from snailtrail.checks.service import secrets_exist

    boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/shine/token", Value="x", Type="SecureString")
    secrets = [{"name": "TOKEN", "valueFrom": "/shine/token"}]
    running(view, monkeypatch, {"secrets": secrets})
    target = SimpleNamespace(image="fake.local/shine:tag", definition={"containerDefinitions": [{"secrets": secrets}]})
    view.ctx.clients.calls.clear()

    assert secrets_exist(view, None).status is Status.PASS
    assert _target_problems(view, target) == []  # type: ignore[arg-type]
    assert view.ctx.clients.calls["ssm.DescribeParameters"] == 1
