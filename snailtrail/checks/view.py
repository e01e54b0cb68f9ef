"""One shared, cached view of the live resources for a verify run.

Checks run concurrently and ask this view; each describe call is made at most once per resource
(per-key locks, so two checks asking for the same thing wait for one call instead of making two).
The view reaches AWS only through the readers of snailtrail/aws/.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from snailtrail.aws.account import AccountApi
from snailtrail.aws.ecr import EcrApi, EcrRegistry
from snailtrail.aws.elbv2 import actions_of, forward_weights
from snailtrail.aws.iam import IamApi
from snailtrail.aws.logs import LogsApi
from snailtrail.aws.route53 import PublicRecord, Route53Api
from snailtrail.aws.secrets import SecretsApi
from snailtrail.checks.registry import registry_config
from snailtrail.context import Context

T = TypeVar("T")
Reader = TypeVar("Reader", AccountApi, EcrApi, IamApi, LogsApi, Route53Api, SecretsApi)


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

    # -- ECS ----------------------------------------------------------------------------------
    def cluster(self) -> dict[str, Any] | None:
        return self._once("cluster", self.ctx.ecs.describe_cluster)

    def service(self) -> dict[str, Any] | None:
        return self._once("service", lambda: self.ctx.live_service)

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
                for t in self.ctx.ecs.service_tasks(self.ctx.settings.service.name, ("RUNNING",))
                if t.get("lastStatus") == "RUNNING"
            ],
        )

    def trail_events(self) -> list[dict[str, Any]]:
        """The trail, read once: the grace-period and rollback-readiness checks both look at it."""
        return self._once("trail", self.ctx.trail.events)

    def stopped_tasks(self) -> list[dict[str, Any]]:
        """The live service's tasks ECS still lists as stopped (it keeps them for about an hour)."""
        return self._once(
            "stopped tasks", lambda: self.ctx.ecs.service_tasks(self.ctx.settings.service.name, ("STOPPED",))
        )

    # -- load balancing -----------------------------------------------------------------------
    def load_balancer(self) -> dict[str, Any] | None:
        return self._once("lb", lambda: self.ctx.elbv2.load_balancer(self.settings.service.load_balancer.name))

    def listeners(self) -> list[dict[str, Any]]:
        return self._of_parent("listeners", self.load_balancer(), "LoadBalancerArn", self.ctx.elbv2.listeners)

    def target_group(self) -> dict[str, Any] | None:
        name = self.ctx.settings.service.load_balancer.target_group
        return self._once("tg", lambda: self.ctx.elbv2.target_group(name))

    def target_health(self) -> list[dict[str, Any]]:
        return self._of_parent("health", self.target_group(), "TargetGroupArn", self.ctx.elbv2.target_health)

    def _of_parent(
        self,
        key: str,
        parent: dict[str, Any] | None,
        arn_key: str,
        read: Callable[[str], list[dict[str, Any]]],
    ) -> list[dict[str, Any]]:
        """What ``read`` lists for the parent resource's ARN; nothing when the parent does not exist."""
        return [] if parent is None else self._once(key, lambda: read(parent[arn_key]))

    def forwarded_target_groups(self, listener: dict[str, Any]) -> list[str]:
        """The groups the listener sends traffic to: by its default actions or by one of its rules (the
        service's rule_priority, ECS-native blue/green's production rule)."""
        forwarders = [listener, *self.listener_rules(listener)]
        weights = [forward_weights(actions_of(x)) for x in forwarders]
        return list(dict.fromkeys(arn for each in weights for arn, weight in each.items() if weight > 0))

    @property
    def load_balancing(self) -> CachedLoadBalancing:
        """Elbv2Api's reads, each made once in this run (native_setup resolves its rules through it)."""
        return CachedLoadBalancing(self)

    # -- network ------------------------------------------------------------------------------
    def awsvpc(self) -> dict[str, Any]:
        service = self.service() or {}
        return (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}

    def security_groups(self) -> dict[str, dict[str, Any]]:
        """The task groups and the load balancer's groups, in one call."""

        def load() -> dict[str, dict[str, Any]]:
            ids = set(self.awsvpc().get("securityGroups", []))
            ids.update((self.load_balancer() or {}).get("SecurityGroups", []))
            return {g["GroupId"]: g for g in self.ctx.ec2.security_groups(sorted(ids))} if ids else {}

        return self._once("sgs", load)

    def load_balancer_subnets(self) -> list[dict[str, Any]]:
        """The load balancer's subnets: its nodes take their addresses from them."""
        ids = [zone["SubnetId"] for zone in (self.load_balancer() or {}).get("AvailabilityZones", [])]
        return self._once("lb subnets", lambda: self.ctx.ec2.subnets(ids)) if ids else []

    def listener_rules(self, listener: dict[str, Any]) -> list[dict[str, Any]]:
        return self._once(("rules", listener["ListenerArn"]), lambda: self.ctx.elbv2.rules(listener["ListenerArn"]))

    def subnets(self) -> list[dict[str, Any]]:
        ids = self.awsvpc().get("subnets", [])
        if not ids:
            return []
        return self._once("subnets", lambda: self.ctx.ec2.subnets(ids))

    def route_tables(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._once(("routes", vpc_id), lambda: self.ctx.ec2.route_tables(vpc_id))

    def vpc_endpoints(self, vpc_id: str) -> list[dict[str, Any]]:
        return self._once(("endpoints", vpc_id), lambda: self.ctx.ec2.vpc_endpoints(vpc_id))

    # -- DNS ----------------------------------------------------------------------------------
    def route53_record(self) -> PublicRecord | None:
        """The domain's public zone and record; None when the configuration names no domain."""
        domain = self.settings.domain
        if domain is None:
            return None
        return self._once("route53", lambda: self._reader(Route53Api).public_record(domain.hosted_zone, domain.name))

    # -- optional resources -------------------------------------------------------------------
    def role(self, arn: str) -> dict[str, Any] | None:
        return self._once(("role", arn), lambda: self._reader(IamApi).role(arn))

    def role_policies(self, arn: str) -> list[str]:
        return self._once(("policies", arn), lambda: self._reader(IamApi).policy_names(arn))

    def log_group_exists(self, name: str) -> bool:
        return self._once(("logs", name), lambda: self._reader(LogsApi).log_group_exists(name))

    def secret_exists(self, value_from: str) -> bool:
        """Existence only, through describe calls: verify never reads a secret's value."""
        return self._once(("secret", value_from), lambda: self._reader(SecretsApi).exists(value_from))

    def ecr_image_error(self, registry: EcrRegistry, repository: str, digest: str) -> str | None:
        """ECR's error code for the image (asked in its registry's region), or None when it is there."""
        return self._once(
            ("ecr image", registry, repository, digest),
            lambda: EcrApi(self.ctx.clients, registry.region).image_error(registry.registry_id, repository, digest),
        )

    def registry_config(self, reference: str) -> tuple[dict[str, Any] | None, str | None]:
        """The image config of host/repo@digest from its v2 registry, or why it could not be read."""
        return self._once(("registry config", reference), lambda: registry_config(reference))

    def ecr_repository(self, name: str) -> dict[str, Any] | None:
        return self._once(("ecr repository", name), lambda: self._reader(EcrApi).repository(name))

    # -- account ------------------------------------------------------------------------------
    def caller(self) -> dict[str, Any]:
        return self._once("caller", self._reader(AccountApi).caller)

    def table(self, name: str) -> dict[str, Any] | None:
        return self._once(("table", name), lambda: self._reader(AccountApi).table(name))

    def _reader(self, kind: type[Reader]) -> Reader:
        """The run's reader of one AWS service, made (with its client) on first use: `verify --only` asks few."""
        return self._once(("reader", kind), lambda: kind(self.ctx.clients))


class CachedLoadBalancing:
    """The load-balancing reads of a LiveView, under its own once-per-run cache."""

    def __init__(self, view: LiveView) -> None:
        self._view = view

    def load_balancer(self, name: str) -> dict[str, Any] | None:
        if name == self._view.settings.service.load_balancer.name:
            return self._view.load_balancer()
        return self._view._once(("lb", name), lambda: self._view.ctx.elbv2.load_balancer(name))

    def target_group(self, name: str) -> dict[str, Any] | None:
        if name == self._view.settings.service.load_balancer.target_group:
            return self._view.target_group()
        return self._view._once(("tg", name), lambda: self._view.ctx.elbv2.target_group(name))

    def listeners(self, load_balancer_arn: str) -> list[dict[str, Any]]:
        balancer = self._view.load_balancer()
        if balancer is not None and balancer["LoadBalancerArn"] == load_balancer_arn:
            return self._view.listeners()
        return self._view._once(
            ("listeners", load_balancer_arn), lambda: self._view.ctx.elbv2.listeners(load_balancer_arn)
        )

    def rules(self, listener_arn: str) -> list[dict[str, Any]]:
        return self._view._once(("rules", listener_arn), lambda: self._view.ctx.elbv2.rules(listener_arn))
