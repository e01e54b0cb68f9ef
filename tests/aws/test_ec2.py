"""Name tags resolved inside the service's VPC; a duplicate is refused, never silently picked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from snailtrail.config.settings import load_settings
from snailtrail.context import Context
from snailtrail.errors import ConfigError
from snailtrail.ui import Reporter
from tests.conftest import write_config


class Vpcs:
    """Two VPCs that both have a subnet and a security group tagged like the service's; shine-alb is in ``ours``."""

    def __init__(self) -> None:
        self.ec2 = boto3.client("ec2", region_name="us-east-1")
        self.ours, self.ours_subnet, self.ours_group = self.tagged("10.0")
        self.tagged("10.9")  # another team's VPC, same Name tags, created after ours
        subnets = [self.ours_subnet, self.subnet(self.ours, "10.0.2.0/24", "shine-public-b", "us-east-1b")]
        boto3.client("elbv2", region_name="us-east-1").create_load_balancer(Name="shine-alb", Subnets=subnets)

    def tagged(self, prefix: str) -> tuple[str, str, str]:
        """A VPC with a subnet tagged shine-public-a and a group tagged shine-tasks: (vpc, subnet, group)."""
        vpc = self.ec2.create_vpc(CidrBlock=f"{prefix}.0.0/16")["Vpc"]["VpcId"]
        subnet = self.subnet(vpc, f"{prefix}.1.0/24", "shine-public-a", "us-east-1a")
        group = self.ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        self.ec2.create_tags(Resources=[group], Tags=[{"Key": "Name", "Value": "shine-tasks"}])
        return vpc, subnet, group

    def subnet(self, vpc: str, cidr: str, name: str, zone: str) -> str:
        subnet = self.ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=zone)["Subnet"]["SubnetId"]
        self.ec2.create_tags(Resources=[subnet], Tags=[{"Key": "Name", "Value": name}])
        return subnet


@pytest.fixture
def context(aws_env: None, tmp_path: Path) -> Iterator[tuple[Context, Vpcs]]:
    from moto import mock_aws

    with mock_aws():
        vpcs = Vpcs()
        settings = load_settings(str(write_config(tmp_path, "https://shine.example.com")))
        yield Context(settings, Reporter(quiet=True)), vpcs


def test_names_resolve_in_the_load_balancers_vpc(context: tuple[Context, Vpcs]) -> None:
    ctx, vpcs = context
    assert ctx.ec2.subnet_ids(["shine-public-a"]) == [vpcs.ours_subnet]
    assert ctx.ec2.security_group_ids(["shine-tasks"]) == [vpcs.ours_group]


def test_a_name_tagged_twice_in_the_vpc_is_refused_naming_both(context: tuple[Context, Vpcs]) -> None:
    ctx, vpcs = context
    twin = vpcs.subnet(vpcs.ours, "10.0.7.0/24", "shine-public-a", "us-east-1c")
    with pytest.raises(ConfigError) as refused:
        ctx.ec2.subnet_ids(["shine-public-a", "shine-public-b"])
    assert f"2 subnets tagged Name=shine-public-a in VPC {vpcs.ours}" in refused.value.message
    assert vpcs.ours_subnet in refused.value.message and twin in refused.value.message
    assert "by its id" in (refused.value.fix or "")
