"""Network checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest

from snailtrail.checks.base import Status
from snailtrail.checks.infra import network_path, security_groups
from snailtrail.checks.view import LiveView
from tests.checks.conftest import running


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


@pytest.fixture
def groups(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A load balancer group open on the listener port (80) and a task group admitting it on 8000, as the
    sandbox provisions them; the service's tasks use the task group and map port 8000."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.3.0.0/16")["Vpc"]["VpcId"]
    ids = {
        name: ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"]
        for name in ("alb", "task", "other")
    }
    ec2.authorize_security_group_ingress(
        GroupId=ids["alb"], IpPermissions=[tcp(80, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    awsvpc = {"subnets": [], "securityGroups": [ids["task"]], "assignPublicIp": "DISABLED"}
    monkeypatch.setattr(view, "service", lambda: {"networkConfiguration": {"awsvpcConfiguration": awsvpc}})
    monkeypatch.setattr(view, "load_balancer", lambda: {"SecurityGroups": [ids["alb"]]})
    running(view, monkeypatch, {"portMappings": [{"containerPort": 8000}]})
    return ids


def tcp(port: int, **sources: Any) -> dict[str, Any]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **sources}


def admit(group: str, port: int, **sources: Any) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=group, IpPermissions=[tcp(port, **sources)]
    )


def test_security_groups_pass_when_the_task_group_admits_the_load_balancer_on_the_task_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == f"{groups['alb']} -> {groups['task']} on 8000; listener 80 open"


def test_security_groups_fail_when_the_task_port_admits_another_group_than_the_load_balancers(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["other"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert f"admit {groups['other']} on port 8000, not the load balancer's {groups['alb']}" in result.summary
    assert result.fix == f"authorize ingress on {groups['task']}: tcp 8000 from {groups['alb']}"


def test_security_groups_fail_when_the_load_balancer_is_admitted_on_another_port_only(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8001, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert "admit nothing on port 8000" in result.summary


def test_security_groups_fail_when_the_load_balancer_group_admits_nothing_on_the_listener_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    ec2.revoke_security_group_ingress(
        GroupId=groups["alb"], IpPermissions=[tcp(80, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    admit(groups["alb"], 443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"load balancer group(s) {groups['alb']} admit nothing on listener port 80"
    assert result.fix == "open the listener port on the load balancer's group"


def test_security_groups_fail_when_the_load_balancer_group_has_no_egress_to_the_task_port(
    view: LiveView, groups: dict[str, str]
) -> None:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    everything = {"IpProtocol": "-1", "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    ec2.revoke_security_group_egress(GroupId=groups["alb"], IpPermissions=[everything])
    ec2.authorize_security_group_egress(
        GroupId=groups["alb"], IpPermissions=[tcp(443, IpRanges=[{"CidrIp": "0.0.0.0/0"}])]
    )
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}])

    result = security_groups(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"load balancer group {groups['alb']} has no egress to port 8000"


def test_security_groups_warn_when_the_task_port_is_also_open_to_the_internet(
    view: LiveView, groups: dict[str, str]
) -> None:
    admit(groups["task"], 8000, UserIdGroupPairs=[{"GroupId": groups["alb"]}], IpRanges=[{"CidrIp": "0.0.0.0/0"}])

    result = security_groups(view, None)

    assert result.status is Status.WARN
    assert result.summary == "port 8000 of the tasks is open to 0.0.0.0/0"
    assert result.fix == f"admit only {groups['alb']} on port 8000"


def test_security_groups_pass_when_an_all_traffic_rule_admits_the_load_balancer(
    view: LiveView, groups: dict[str, str]
) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"], IpPermissions=[{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}]
    )

    assert security_groups(view, None).status is Status.PASS


def test_security_groups_fail_when_the_load_balancer_is_admitted_over_udp_only(
    view: LiveView, groups: dict[str, str]
) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "udp", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    result = security_groups(view, None)

    assert result.status is Status.FAIL and "admit nothing on port 8000" in result.summary


def test_security_groups_pass_when_a_port_range_holds_the_task_port(view: LiveView, groups: dict[str, str]) -> None:
    boto3.client("ec2", region_name="us-east-1").authorize_security_group_ingress(
        GroupId=groups["task"],
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 7000, "ToPort": 9000, "UserIdGroupPairs": [{"GroupId": groups["alb"]}]}
        ],
    )

    assert security_groups(view, None).status is Status.PASS
