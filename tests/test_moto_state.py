"""Copies of in-process moto's state: what a restored copy holds, and that it is a copy."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from tests import moto_state


@pytest.fixture
def moto(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


def clusters() -> list[str]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return sorted(arn.rsplit("/", 1)[-1] for arn in ecs.list_clusters()["clusterArns"])


def test_a_restored_copy_holds_what_was_taken_and_later_changes_leave_the_snapshot_alone(moto: None) -> None:
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.create_cluster(clusterName="taken")
    state = moto_state.snapshot()
    ecs.create_cluster(clusterName="after")

    moto_state.restore(state)
    assert clusters() == ["taken"]
    ecs.create_cluster(clusterName="in-the-copy")
    assert clusters() == ["in-the-copy", "taken"]

    moto_state.restore(state)
    assert clusters() == ["taken"]


def test_a_restored_copy_keeps_the_links_between_services(moto: None) -> None:
    """A load balancer's subnets live in EC2's backend: a copy can still use them, and its EC2 is the copy's."""
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.9.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in enumerate("ab")
    ]
    state = moto_state.snapshot()

    moto_state.restore(state)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.create_load_balancer(Name="copied", Subnets=subnets)["LoadBalancers"][0]
    assert balancer["VpcId"] == vpc
    ec2.delete_subnet(SubnetId=subnets[0])
    moto_state.restore(state)
    assert {s["SubnetId"] for s in ec2.describe_subnets(SubnetIds=subnets)["Subnets"]} == set(subnets)


def test_a_backend_holding_a_lock_is_copied_with_a_working_lock_of_its_own(moto: None) -> None:
    ecr = boto3.client("ecr", region_name="us-east-1")
    ecr.create_repository(repositoryName="shine")
    state = moto_state.snapshot()

    moto_state.restore(state)
    # ECR's registry scanning settings are written under the backend's lock.
    ecr.put_registry_scanning_configuration(scanType="ENHANCED", rules=[])
    assert ecr.get_registry_scanning_configuration()["scanningConfiguration"]["scanType"] == "ENHANCED"
    assert [r["repositoryName"] for r in ecr.describe_repositories()["repositories"]] == ["shine"]


def test_discard_leaves_moto_as_a_reset_does(moto: None) -> None:
    boto3.client("ecs", region_name="us-east-1").create_cluster(clusterName="gone")
    moto_state.discard()
    assert clusters() == []
