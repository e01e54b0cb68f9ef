"""Network checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

import boto3
import pytest

from snailtrail.checks.base import Status
from snailtrail.checks.infra import network_path
from snailtrail.checks.view import LiveView


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
