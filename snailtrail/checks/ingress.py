"""What a security group's ingress admits, in every form AWS evaluates: group references, IPv4 and IPv6
ranges, and managed prefix lists (CloudFront's origin-facing list, say).

https://docs.aws.amazon.com/vpc/latest/userguide/security-group-rules.html ("Source or destination").
"""

from __future__ import annotations

import ipaddress
from typing import Any


def admitted_sources(group: dict[str, Any], port: int) -> list[str]:
    """Every source a group's ingress admits on a TCP port: group ids, IPv4 and IPv6 ranges, prefix-list ids."""
    sources = []
    for rule in group.get("IpPermissions", []):
        protocol = rule.get("IpProtocol")
        low, high = rule.get("FromPort", 0), rule.get("ToPort", 65535)
        if protocol not in ("tcp", "6", "-1") or (protocol != "-1" and not low <= port <= high):
            continue
        sources += [pair["GroupId"] for pair in rule.get("UserIdGroupPairs", [])]
        sources += [cidr["CidrIp"] for cidr in rule.get("IpRanges", [])]
        sources += [cidr["CidrIpv6"] for cidr in rule.get("Ipv6Ranges", [])]
        sources += [prefix["PrefixListId"] for prefix in rule.get("PrefixListIds", [])]
    return sources


def subnet_ranges(subnets: list[dict[str, Any]]) -> list[str]:
    """The IPv4 and IPv6 ranges of subnets, as DescribeSubnets gives them."""
    ranges = [s["CidrBlock"] for s in subnets if s.get("CidrBlock")]
    for subnet in subnets:
        ranges += [a["Ipv6CidrBlock"] for a in subnet.get("Ipv6CidrBlockAssociationSet", []) if a.get("Ipv6CidrBlock")]
    return ranges


def covers_every(sources: list[str], ranges: list[str]) -> bool:
    """Whether the admitted CIDRs include each of the ranges (of one family or the other): the load balancer's
    nodes take their addresses from its subnets, so a CIDR covering them admits it."""
    networks = []
    for source in sources:
        try:
            networks.append(ipaddress.ip_network(source, strict=False))
        except ValueError:
            continue  # a group or prefix-list id
    parsed = [ipaddress.ip_network(r, strict=False) for r in ranges]
    for version in (4, 6):  # IPv4 targets are reached over IPv4; IPv6 targets (dual-stack groups) over IPv6
        family = [r for r in parsed if r.version == version]
        if family and all(any(n.version == version and r.subnet_of(n) for n in networks) for r in family):
            return True
    return False
