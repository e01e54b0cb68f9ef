"""The network as the data plane sees it: which packets the VPC lets through, read from the control plane.

The sandbox's containers all sit on one host, where every port answers. On AWS a request from the load
balancer reaches a task only when the listener forwards to the task's target group, the load balancer's
security group lets it out and the task's security group lets it in on the target port; and a task pulls
its image only when its subnet routes to the registry. This module answers those questions from one
snapshot of the control plane's state (security groups, route tables, endpoints, listeners), taken once
per reconciler pass, so the front door's hot path reads a cached answer and never the control plane.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Rule:
    """One security-group permission: a protocol and port range to or from a CIDR or a group."""

    protocol: str  # "tcp", "udp", "icmp" or "-1" (all traffic)
    low: int | None
    high: int | None
    cidr: str | None = None
    group: str | None = None

    def covers(self, port: int) -> bool:
        if self.protocol == "-1":
            return True
        return self.protocol in ("tcp", "6") and (self.low or 0) <= port <= (
            self.high if self.high is not None else 65535
        )


@dataclass(frozen=True)
class Group:
    ingress: list[Rule] = field(default_factory=list)
    egress: list[Rule] = field(default_factory=list)


@dataclass(frozen=True)
class Subnet:
    vpc: str
    cidr: str


@dataclass(frozen=True)
class RouteTable:
    vpc: str
    main: bool
    subnets: list[str]
    default_route: str | None  # where 0.0.0.0/0 goes: igw-..., nat-..., or None


@dataclass(frozen=True)
class Balancer:
    groups: list[str]
    subnets: list[str]
    target_groups: set[str]  # those its listeners forward to


@dataclass(frozen=True)
class NetworkState:
    groups: dict[str, Group]
    subnets: dict[str, Subnet]
    tables: list[RouteTable]
    endpoints: dict[str, set[str]]  # vpc -> endpoint service names without the region prefix (ecr.dkr, s3)
    balancers: dict[str, Balancer]  # by name


@dataclass(frozen=True)
class Route:
    """What the load balancer gets when it sends to a target: an address, or why the packets are dropped."""

    address: tuple[str, int] | None  # None: nothing listens on the target's port
    blocked: str | None = None


# Interface endpoints for ECR's API and registry and the S3 gateway for its layers: what a task in a subnet
# without a NAT or internet route needs to pull from ECR (AWS Knowledge Center, "ecs-fargate-pull-container-error").
PULL_ENDPOINTS = {"ecr.api", "ecr.dkr", "s3"}


class NetworkView:
    def __init__(self, state: NetworkState) -> None:
        self.state = state

    def balancers_using(self, target_group_arn: str) -> list[str]:
        """The load balancers with a listener or rule forwarding to the target group."""
        return [name for name, b in self.state.balancers.items() if target_group_arn in b.target_groups]

    def in_use(self, target_group_arn: str) -> bool:
        """A target group some listener forwards to: the only kind an ALB health-checks."""
        return bool(self.balancers_using(target_group_arn))

    def blocked(self, balancer: str, task_groups: list[str], task_subnet: str, port: int) -> str | None:
        """Why the load balancer's packets to a task on this port are dropped, or None when they pass."""
        alb = self.state.balancers.get(balancer)
        if alb is None:
            return f"load balancer {balancer} not found"
        task_cidr = self._cidr(task_subnet)
        alb_cidrs = [c for c in (self._cidr(s) for s in alb.subnets) if c is not None]
        egress = [r for gid in alb.groups for r in self._group(gid).egress if r.covers(port)]
        if not any(r.group in task_groups or _contains(r.cidr, [task_cidr] if task_cidr else []) for r in egress):
            return f"the load balancer's group(s) {', '.join(alb.groups)} allow no egress to the tasks on port {port}"
        ingress = [r for gid in task_groups for r in self._group(gid).ingress if r.covers(port)]
        if not any(r.group in alb.groups or _contains(r.cidr, alb_cidrs) for r in ingress):
            return (
                f"the task group(s) {', '.join(task_groups)} admit nothing from the load balancer's "
                f"{', '.join(alb.groups)} on port {port}"
            )
        return None

    def pull_blocked(self, subnet_id: str, public_ip: bool) -> str | None:
        """Why a task in this subnet cannot reach its image registry, or None when it can."""
        subnet = self.state.subnets.get(subnet_id)
        if subnet is None:
            return f"subnet {subnet_id} not found"
        tables = [t for t in self.state.tables if t.vpc == subnet.vpc]
        table = next((t for t in tables if subnet_id in t.subnets), None) or next((t for t in tables if t.main), None)
        route = table.default_route if table else None
        if route and route.startswith("nat-"):
            return None
        if route and route.startswith("igw-") and public_ip:
            return None
        if self.state.endpoints.get(subnet.vpc, set()) >= PULL_ENDPOINTS:
            return None
        if route and route.startswith("igw-"):
            return f"subnet {subnet_id} routes to {route} but the task has no public IP"
        return f"subnet {subnet_id} has no route to an internet gateway or NAT gateway and no ECR endpoints"

    def _group(self, group_id: str) -> Group:
        return self.state.groups.get(group_id, Group())

    def _cidr(self, subnet_id: str) -> str | None:
        subnet = self.state.subnets.get(subnet_id)
        return subnet.cidr if subnet else None


def _contains(cidr: str | None, networks: list[str]) -> bool:
    """A rule's CIDR covers every one of these networks (all of an ALB's nodes, or a task's subnet)."""
    if cidr is None or not networks:
        return False
    rule = ipaddress.ip_network(cidr, strict=False)
    return all(ipaddress.ip_network(n, strict=False).subnet_of(rule) for n in networks)  # type: ignore[arg-type]


def pull_error(image: str, why: str) -> str:
    """The stoppedReason of a Fargate task that cannot reach its registry (AWS docs, "CannotPullContainer task
    errors in Amazon ECS": the image manifest request times out when the task has no route to the registry)."""
    registry, _, rest = image.partition("/")
    if "@" in rest:  # repository@sha256:...: the manifest is asked for by digest
        repository, _, tag = rest.partition("@")
    else:
        repository, _, tag = rest.rpartition(":") if ":" in rest else (rest, "", "latest")
    return (
        f"CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref {image}: "
        f'failed to do request: Head "https://{registry}/v2/{repository}/manifests/{tag}": '
        f"dial tcp {registry if ':' in registry else registry + ':443'}: i/o timeout ({why})"
    )
