"""What a security group's ingress admits (snailtrail/checks/ingress.py), on DescribeSecurityGroups' and
DescribeSubnets' shapes as botocore parses them: a list EC2 sends empty, or not at all, is absent from the
dictionary, so a rule carries only the source kinds it has."""

from __future__ import annotations

from snailtrail.checks.ingress import admitted_sources, covers_every, subnet_ranges

ALB_GROUP = "sg-0a1b2c3d4e5f60718"


def tcp(port: int, **sources: object) -> dict[str, object]:
    return {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, **sources}


def test_a_group_without_ingress_rules_admits_nothing() -> None:
    assert admitted_sources({"GroupId": "sg-1"}, 8000) == []


def test_a_rule_naming_only_a_group_admits_that_group() -> None:
    group = {"IpPermissions": [tcp(8000, UserIdGroupPairs=[{"GroupId": ALB_GROUP}])]}
    assert admitted_sources(group, 8000) == [ALB_GROUP]


def test_a_rule_naming_only_ranges_and_prefix_lists_admits_each_of_them() -> None:
    group = {"IpPermissions": [tcp(443, IpRanges=[{"CidrIp": "10.0.0.0/16"}])]}
    assert admitted_sources(group, 443) == ["10.0.0.0/16"]
    group = {"IpPermissions": [tcp(443, Ipv6Ranges=[{"CidrIpv6": "2600:1f18::/56"}])]}
    assert admitted_sources(group, 443) == ["2600:1f18::/56"]
    group = {"IpPermissions": [tcp(443, PrefixListIds=[{"PrefixListId": "pl-3b927c52"}])]}
    assert admitted_sources(group, 443) == ["pl-3b927c52"]


def test_a_tcp_rule_given_by_its_protocol_number_admits_its_port() -> None:
    """IpProtocol may be a protocol number: 6 is tcp (EC2 API reference, IpPermission)."""
    rule = {"IpProtocol": "6", "FromPort": 8000, "ToPort": 8000, "UserIdGroupPairs": [{"GroupId": ALB_GROUP}]}
    assert admitted_sources({"IpPermissions": [rule]}, 8000) == [ALB_GROUP]
    assert admitted_sources({"IpPermissions": [rule]}, 8001) == []


def test_an_all_traffic_rule_admits_every_port_whatever_ports_it_names() -> None:
    """With IpProtocol -1 "traffic on all ports is allowed, regardless of any ports you specify" (IpPermission)."""
    rule = {"IpProtocol": "-1", "FromPort": -1, "ToPort": -1, "UserIdGroupPairs": [{"GroupId": ALB_GROUP}]}
    assert admitted_sources({"IpPermissions": [rule]}, 8000) == [ALB_GROUP]


def test_subnets_without_ipv6_give_their_ipv4_ranges_alone() -> None:
    subnets = [
        {"SubnetId": "subnet-a", "CidrBlock": "10.0.0.0/24"},
        {
            "SubnetId": "subnet-b",
            "CidrBlock": "10.0.1.0/24",
            "Ipv6CidrBlockAssociationSet": [{"Ipv6CidrBlock": "2600:1f18:0:1::/64"}],
        },
    ]
    assert subnet_ranges(subnets) == ["10.0.0.0/24", "10.0.1.0/24", "2600:1f18:0:1::/64"]
    assert covers_every(["10.0.0.0/16"], subnet_ranges(subnets[:1]))
