"""Where blue-green and canary rollouts move production traffic: one forward action of the load balancer.

An environment names it (``environments.<name>.traffic``: a listener port, and optionally the
priority of one of that listener's rules); by default it is the listener on
``service.load_balancer.listener_port``. A rollout changes only the target groups and weights of
that forward: an HTTP -> HTTPS redirect on another listener, authenticate actions before the
forward, and the forward's stickiness all stay as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.aws.elbv2 import Elbv2Api, forward_weights, with_forward_weights, writable
from snailtrail.config import Settings
from snailtrail.errors import ConfigError


@dataclass(frozen=True)
class TrafficRoute:
    arn: str  # the listener's (its default actions) or the rule's
    where: str  # "listener 443 of shine-alb", "rule 10 of listener 443 of shine-alb"
    actions: list[dict[str, Any]]  # as described when the rollout resolved it

    def weighted(self, weights: dict[str, int]) -> list[dict[str, Any]]:
        return with_forward_weights(self.actions, weights)


@dataclass(frozen=True)
class Forwarder:
    """A listener, or one of its rules, whose forward sends traffic to a target group."""

    port: int
    rule_priority: str | None  # None: the listener's default actions

    def __str__(self) -> str:
        return f"listener {self.port}" + (f" rule {self.rule_priority}" if self.rule_priority else "")

    def as_config(self) -> str:
        priority = f", rule_priority: {self.rule_priority}" if self.rule_priority else ""
        return f"traffic: {{listener_port: {self.port}{priority}}}"


def traffic_port(settings: Settings) -> int:
    traffic = settings.environment.traffic
    if traffic is not None and traffic.listener_port is not None:
        return traffic.listener_port
    return settings.service.load_balancer.listener_port


def resolve_route(elbv2: Elbv2Api, settings: Settings, balancer: dict[str, Any]) -> TrafficRoute:
    """The configured listener (or rule), as it is now; ConfigError when it does not exist."""
    name = settings.service.load_balancer.name
    port = traffic_port(settings)
    listener = elbv2.listener(balancer["LoadBalancerArn"], port)
    if listener is None:
        raise ConfigError(
            f"{name} has no listener on port {port}",
            fix=f"set environments.{settings.environment_name}.traffic.listener_port (or "
            "service.load_balancer.listener_port) to the port of the listener that forwards to the service",
        )
    where = f"listener {port} of {name}"
    traffic = settings.environment.traffic
    if traffic is None or traffic.rule_priority is None:
        return TrafficRoute(listener["ListenerArn"], where, listener["DefaultActions"])
    rules = elbv2.rules(listener["ListenerArn"])
    rule = next((r for r in rules if r["Priority"] == str(traffic.rule_priority)), None)
    if rule is None:
        known = ", ".join(r["Priority"] for r in rules if not r.get("IsDefault")) or "none"
        raise ConfigError(
            f"{where} has no rule with priority {traffic.rule_priority} (its rules: {known})",
            fix=f"fix environments.{settings.environment_name}.traffic.rule_priority",
        )
    return TrafficRoute(rule["RuleArn"], f"rule {traffic.rule_priority} of {where}", rule["Actions"])


def forwarders(elbv2: Elbv2Api, balancer_arn: str, target_group_arn: str) -> list[Forwarder]:
    """Every listener and rule of the load balancer whose forward gives the target group traffic."""
    found = []
    for listener in elbv2.listeners(balancer_arn):
        if forward_weights(listener["DefaultActions"]).get(target_group_arn, 0) > 0:
            found.append(Forwarder(listener["Port"], None))
        for rule in elbv2.rules(listener["ListenerArn"]):
            if not rule.get("IsDefault") and forward_weights(rule["Actions"]).get(target_group_arn, 0) > 0:
                found.append(Forwarder(listener["Port"], rule["Priority"]))
    return found


def require_forward(
    elbv2: Elbv2Api, settings: Settings, route: TrafficRoute, balancer_arn: str, target_group: dict[str, Any]
) -> None:
    """Refuse a route whose actions do not forward to the live colour's target group (a redirect,
    a fixed response, a forward elsewhere): moving its weights would not move the users."""
    arn, name = target_group["TargetGroupArn"], target_group["TargetGroupName"]
    weights = forward_weights(route.actions)
    if arn in weights:
        return
    if weights:
        answer = "forwards to " + ", ".join(a.rsplit("/", 2)[-2] for a in weights)
    else:
        answer = "answers with " + ", ".join(a.get("Type", "?") for a in route.actions) + ", not a forward"
    others = forwarders(elbv2, balancer_arn, arn)
    if others:
        fix = f"in environments.{settings.environment_name} set " + " or ".join(o.as_config() for o in others)
        fix += f" ({', '.join(map(str, others))} forwards to {name})"
    else:
        fix = f"make {route.where} forward to {name}, or name the listener that does in environments.<name>.traffic"
    raise ConfigError(
        f"{route.where} {answer}: snailtrail moves traffic only by the weights of a forward to {name}", fix=fix
    )


def restore_actions(route: TrafficRoute, old_target_group: str, new_target_group: str) -> list[dict[str, Any]]:
    """What an abort writes back: the action list as the rollout found it, except that weight an
    earlier, crashed rollout left on the new colour goes back to the old one."""
    if forward_weights(route.actions).get(new_target_group, 0) > 0:
        return route.weighted({old_target_group: 100, new_target_group: 0})
    return writable(route.actions)
