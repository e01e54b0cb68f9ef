"""One shared, cached view of the live resources for a verify run.

Checks run concurrently and ask this view; each describe call is made at most once per resource
(per-key locks, so two checks asking for the same thing wait for one call instead of making two).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from snailtrail.aws.elbv2 import actions_of, forward_weights
from snailtrail.context import Context

T = TypeVar("T")


class LiveView:
    def __init__(self, ctx: Context, dns_server: str | None = None) -> None:
        self.ctx = ctx
        self.settings = ctx.settings
        self.dns_server = dns_server
        self._values: dict[Any, Any] = {}
        self._locks: dict[Any, threading.Lock] = {}
        self._guard = threading.Lock()

    def _once(self, key: Any, load: Callable[[], T]) -> T:
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._values:
                self._values[key] = load()
            return self._values[key]

    def _client(self, name: str) -> Any:
        return self.ctx.clients.client(name)

    # -- ECS ----------------------------------------------------------------------------------
    def cluster(self) -> dict[str, Any] | None:
        return self._once("cluster", self.ctx.ecs.describe_cluster)

    def service(self) -> dict[str, Any] | None:
        return self._once("service", lambda: self.ctx.colours.services[self.ctx.colours.live.service])

    def running_revision(self) -> Any:
        service = self.service()
        if not service or not service.get("taskDefinition"):
            return None
        return self._once(
            ("revision", service["taskDefinition"]), lambda: self.ctx.history.get(service["taskDefinition"])
        )

    def tasks(self) -> list[dict[str, Any]]:
        return self._once(
            "tasks",
            lambda: [
                t
                for t in self.ctx.ecs.service_tasks(self.ctx.colours.live.service, ("RUNNING",))
                if t.get("lastStatus") == "RUNNING"
            ],
        )

    def trail_events(self) -> list[dict[str, Any]]:
        """The trail, read once: the grace-period and rollback-readiness checks both look at it."""
        return self._once("trail", self.ctx.trail.events)

    def stopped_tasks(self) -> list[dict[str, Any]]:
        """The live service's tasks ECS still lists as stopped (it keeps them for about an hour)."""
        return self._once(
            "stopped tasks", lambda: self.ctx.ecs.service_tasks(self.ctx.colours.live.service, ("STOPPED",))
        )

    # -- load balancing -----------------------------------------------------------------------
    def load_balancer(self) -> dict[str, Any] | None:
        return self._once("lb", lambda: self.ctx.elbv2.load_balancer(self.settings.service.load_balancer.name))

    def listeners(self) -> list[dict[str, Any]]:
        balancer = self.load_balancer()
        if balancer is None:
            return []
        return self._once("listeners", lambda: self.ctx.elbv2.listeners(balancer["LoadBalancerArn"]))

    def target_group(self) -> dict[str, Any] | None:
        return self._once("tg", lambda: self.ctx.elbv2.target_group(self.ctx.colours.live.target_group))

    def target_health(self) -> list[dict[str, Any]]:
        group = self.target_group()
        if group is None:
            return []
        return self._once("health", lambda: self.ctx.elbv2.target_health(group["TargetGroupArn"]))

    def forwarded_target_groups(self, listener: dict[str, Any]) -> list[str]:
        return [arn for arn, weight in forward_weights(actions_of(listener)).items() if weight > 0]

    # -- network ------------------------------------------------------------------------------
    def awsvpc(self) -> dict[str, Any]:
        service = self.service() or {}
        return (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}

    def security_groups(self) -> dict[str, dict[str, Any]]:
        """The task groups and the load balancer's groups, in one call."""

        def load() -> dict[str, dict[str, Any]]:
            ids = set(self.awsvpc().get("securityGroups", []))
            ids.update((self.load_balancer() or {}).get("SecurityGroups", []))
            if not ids:
                return {}
            groups = self._client("ec2").describe_security_groups(GroupIds=sorted(ids))["SecurityGroups"]
            return {g["GroupId"]: g for g in groups}

        return self._once("sgs", load)

    def subnets(self) -> list[dict[str, Any]]:
        ids = self.awsvpc().get("subnets", [])
        if not ids:
            return []
        return self._once("subnets", lambda: self._client("ec2").describe_subnets(SubnetIds=ids)["Subnets"])

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._once(
            ("routes", vpc_id),
            lambda: self._client("ec2").describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "RouteTables"
            ],
        )

    def vpc_endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._once(
            ("endpoints", vpc_id),
            lambda: self._client("ec2").describe_vpc_endpoints(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])[
                "VpcEndpoints"
            ],
        )

    # -- DNS ----------------------------------------------------------------------------------
    def route53_record(self) -> dict[str, Any] | None:
        domain = self.settings.service.domain
        if domain is None:
            return None

        def load() -> dict[str, Any] | None:
            route53 = self._client("route53")
            wanted = dns_name(domain.hosted_zone)
            # A private zone of the same name answers only inside its VPCs: users resolve the public one.
            zones = [
                z
                for z in route53.list_hosted_zones_by_name(DNSName=domain.hosted_zone)["HostedZones"]
                if dns_name(z["Name"]) == wanted and not (z.get("Config") or {}).get("PrivateZone")
            ]
            if not zones:
                return {"zone": None}
            records = route53.list_resource_record_sets(HostedZoneId=zones[0]["Id"], StartRecordName=domain.name)[
                "ResourceRecordSets"
            ]
            found = next((r for r in records if dns_name(r["Name"]) == dns_name(domain.name)), None)
            return {"zone": zones[0]["Id"], "record": found}

        return self._once("route53", load)

    # -- optional resources -------------------------------------------------------------------
    def role(self, arn: str) -> dict[str, Any] | None:
        def load() -> dict[str, Any] | None:
            try:
                return self._client("iam").get_role(RoleName=arn.rsplit("/", 1)[-1])["Role"]
            except ClientError as exc:
                if exc.response["Error"]["Code"] == "NoSuchEntity":
                    return None
                raise

        return self._once(("role", arn), load)

    def log_group_exists(self, name: str) -> bool:
        def load() -> bool:
            # Every page: DescribeLogGroups may answer a page without the group and a nextToken.
            pages = self._client("logs").get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
            return any(g["logGroupName"] == name for page in pages for g in page["logGroups"])

        return self._once(("logs", name), load)


def dns_name(name: str) -> str:
    """DNS names compare case-insensitively, with or without the root's trailing dot (RFC 4343)."""
    return name.rstrip(".").lower()
