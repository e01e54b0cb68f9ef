"""Reads moto's network, load balancers and DNS records as the sandbox's data plane needs them.

The front door follows the listeners' rules and forward actions, the reconciler judges reachability from the
security groups, subnets and route tables, and the DNS responder serves Route 53's records. One of the
moto-bridging modules (moto_bridge.py says which); it only reads moto's models.
"""

from __future__ import annotations

import fnmatch
from types import SimpleNamespace
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.elbv2.models import elbv2_backends

from snailtrail.sandbox.network import Balancer, Group, NetworkState, RouteTable, Rule, Subnet


def elbv2(region: str, account: str = DEFAULT_ACCOUNT_ID) -> Any:
    """moto's load balancing backend of a region."""
    return elbv2_backends[account][region]


def load_balancer_arn(region: str, load_balancer_name: str) -> str:
    for balancer in list(elbv2(region).load_balancers.values()):
        if balancer.name == load_balancer_name:
            return balancer.arn
    return f"arn:aws:elasticloadbalancing:{region}:{DEFAULT_ACCOUNT_ID}:loadbalancer/app/{load_balancer_name}/none"


def listener_actions(region: str, load_balancer_name: str, port: int, path: str) -> list[dict[str, Any]]:
    """The actions the listener on ``port`` takes for a request to ``path``: those of its first rule, by priority,
    whose conditions match, else its default actions (ELB docs, "Listener rules for your Application Load
    Balancer": rules are evaluated in priority order, the default rule last). Only path-pattern conditions are
    evaluated; a rule with any other condition does not match."""
    backend = elbv2(region)
    for balancer in list(backend.load_balancers.values()):
        if balancer.name != load_balancer_name:
            continue
        for listener in list(balancer.listeners.values()):
            if int(listener.port) != port:
                continue
            for rule in sorted(listener._non_default_rules.values(), key=lambda r: int(r.priority)):
                if _matches(rule.conditions, path):
                    return [action.data for action in rule.actions]
            return [action.data for action in listener.default_actions]
    return []


def _matches(conditions: list[dict[str, Any]], path: str) -> bool:
    for condition in conditions:
        if condition.get("Field") != "path-pattern":
            return False
        values = (condition.get("PathPatternConfig") or {}).get("Values") or condition.get("Values") or []
        if not any(fnmatch.fnmatchcase(path.split("?", 1)[0], pattern) for pattern in values):
            return False
    return True


def forwards(actions: list[dict[str, Any]]) -> list[tuple[str, int]]:
    """(target group arn, weight) pairs of an action list's forward."""
    return _forwards([SimpleNamespace(data=action) for action in actions])


def _forwards(actions: list[Any]) -> list[tuple[str, int]]:
    pairs: list[tuple[str, int]] = []
    for action in actions:
        data = action.data
        if data.get("Type") != "forward":
            continue
        groups = (data.get("ForwardConfig") or {}).get("TargetGroups") or []
        if groups:
            pairs.extend((g["TargetGroupArn"], int(g.get("Weight", 1))) for g in groups)
        elif data.get("TargetGroupArn"):
            pairs.append((data["TargetGroupArn"], 1))
    return pairs


def forwarded_target_groups(balancer: Any) -> set[str]:
    """The target groups a load balancer's listeners forward to, by default action or by rule: the groups
    an ALB health-checks, and the only ones a service can register its tasks in."""
    forwarded: set[str] = set()
    for listener in list(balancer.listeners.values()):
        rules = list(listener._non_default_rules.values())
        for actions in [listener.default_actions, *(rule.actions for rule in rules)]:
            forwarded.update(arn for arn, _ in _forwards(actions))
    return forwarded


def dns_records(
    front_door_ip: str, front_door_balancer: str, account: str = DEFAULT_ACCOUNT_ID
) -> dict[str, tuple[str, list[str]]]:
    """Route 53's records (aliases served as CNAMEs), and each ALB's name with an address of its own.

    The front door's load balancer resolves to the front door; any other gets a loopback address
    nobody serves, as another ALB has addresses of its own, so DNS checks can tell them apart.
    """
    from moto.route53.models import route53_backends

    records: dict[str, tuple[str, list[str]]] = {}
    # Without the reconciler's lock (it may be busy starting containers): list() copies are atomic.
    others = 0
    for region_backends in list(elbv2_backends[account].values()):
        for balancer in list(region_backends.load_balancers.values()):
            if balancer.name == front_door_balancer:
                address = front_door_ip
            else:
                others += 1
                address = f"127.0.1.{others}"
            records[balancer.dns_name.lower()] = ("A", [address])
    for zone in list(route53_backends[account]["global"].zones.values()):
        for record in list(zone.rrsets):
            name = record.name.lower().rstrip(".")
            if record.alias_target:
                records[name] = ("CNAME", [record.alias_target["DNSName"].rstrip(".")])
            elif record.type in ("A", "CNAME", "TXT", "AAAA"):
                values = [r["Value"] if isinstance(r, dict) else str(r) for r in record.records]
                records[name] = (record.type, values)
    return records


def network_state(region: str, account: str = DEFAULT_ACCOUNT_ID) -> NetworkState:
    """Security groups, subnets, route tables, endpoints and load balancers as the data plane needs them."""
    from moto.ec2.models import ec2_backends

    ec2 = ec2_backends[account][region]
    groups = {
        group_id: Group([_rule(r) for r in list(group.ingress_rules)], [_rule(r) for r in list(group.egress_rules)])
        for by_vpc in list(ec2.groups.values())
        for group_id, group in list(by_vpc.items())
    }
    subnets = {
        subnet_id: Subnet(subnet.vpc_id, subnet.cidr_block)
        for by_zone in list(ec2.subnets.values())
        for subnet_id, subnet in list(by_zone.items())
    }
    tables = []
    for table in list(ec2.route_tables.values()):
        default = next((r for r in table.routes if r.destination_cidr_block == "0.0.0.0/0"), None)
        via = None
        if default is not None:
            target = default.nat_gateway or default.gateway
            via = getattr(target, "id", target)
        associations = table.associations
        tables.append(
            RouteTable(
                table.vpc_id,
                any(a.get("Main") for a in associations),
                [a["SubnetId"] for a in associations if "SubnetId" in a],
                via,
            )
        )
    endpoints: dict[str, set[str]] = {}
    for endpoint in list(ec2.vpc_end_points.values()):
        endpoints.setdefault(endpoint.vpc_id, set()).add(endpoint.service_name.removeprefix(f"com.amazonaws.{region}."))
    balancers = {}
    for balancer in list(elbv2(region, account).load_balancers.values()):
        balancers[balancer.name] = Balancer(
            list(balancer.security_groups or []),
            [getattr(s, "id", s) for s in balancer.subnets],
            forwarded_target_groups(balancer),
        )
    return NetworkState(groups, subnets, tables, endpoints, balancers)


def _rule(rule: Any) -> Rule:
    return Rule(
        str(rule.ip_protocol),
        rule.from_port,
        rule.to_port,
        rule.ip_range.get("CidrIp"),
        rule.source_group.get("GroupId"),
    )
