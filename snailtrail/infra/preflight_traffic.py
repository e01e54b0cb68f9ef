"""doctor's checks of what the environment's stack creates for traffic (snailtrail/templates/environment.yaml):
the listeners (HTTPS, the redirect, the test listener), the service's rules and alternate target group, the
health path, the load balancer's way into the tasks, the load-balancer role and the model bucket."""

from __future__ import annotations

import json
import urllib.request
from typing import Any

from snailtrail.aws.elbv2 import actions_of, forward_weights
from snailtrail.aws.s3 import S3Api
from snailtrail.checks.base import Verdict, fail, ok, skip
from snailtrail.checks.ingress import admitted_sources
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.config.settings import EnvironmentKind

FIX_BY_STACK = "`snailtrail infra up` creates it as the template says"


def _redirects_to_https(listener: dict[str, Any]) -> bool:
    return any(
        a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
        for a in listener.get("DefaultActions", [])
    )


def listeners(view: LiveView, _: Phase | None) -> Verdict:
    """The production listener on the traffic port (HTTPS on AWS when it is not 80), port 80 redirecting to HTTPS,
    and the test listener."""
    settings = view.settings
    lb = settings.service.load_balancer
    if view.load_balancer() is None:
        return fail(f"load balancer {lb.name} does not exist", f"{FIX_BY_STACK}, or correct service.load_balancer.name")
    by_port = {x["Port"]: x for x in view.listeners()}
    port = settings.production_listener_port
    problems = []
    production = by_port.get(port)
    https = settings.environment.kind is EnvironmentKind.aws and port != 80
    if production is None:
        problems.append(f"no listener on port {port}")
    elif https and production.get("Protocol") != "HTTPS":
        problems.append(f"the listener on {port} is {production.get('Protocol')}, not HTTPS")
    if https and (80 not in by_port or not _redirects_to_https(by_port[80])):
        problems.append("port 80 does not redirect to HTTPS")
    if lb.test_listener_port is not None and lb.test_listener_port not in by_port:
        problems.append(f"no test listener on port {lb.test_listener_port}")
    arns = [x["ListenerArn"] for x in by_port.values()]
    if problems:
        return fail(f"{lb.name}: " + "; ".join(problems), FIX_BY_STACK, arns)
    test = f", test listener {lb.test_listener_port}" if lb.test_listener_port else ""
    redirect = ", 80 redirects to HTTPS" if https else ""
    return ok(f"{lb.name} listens on {port}{redirect}{test}", arns)


def listener_rules(view: LiveView, _: Phase | None) -> Verdict:
    """On the production and test listeners, a rule forwarding to the primary and the alternate target groups:
    ECS-native deployments move these rules (advancedConfiguration.productionListenerRule, testListenerRule)."""
    settings = view.settings
    lb = settings.service.load_balancer
    groups = {name: view.ctx.elbv2.target_group(name) for name in (lb.target_group, lb.alternate)}
    missing = [name for name, group in groups.items() if group is None]
    if missing:
        return fail(f"target group(s) {', '.join(missing)} do not exist", FIX_BY_STACK)
    wanted = {group["TargetGroupArn"] for group in groups.values() if group}
    by_port = {x["Port"]: x for x in view.listeners()}
    ports = [settings.production_listener_port] + ([lb.test_listener_port] if lb.test_listener_port else [])
    problems, arns = [], []
    for port in ports:
        listener = by_port.get(port)
        rules = view.listener_rules(listener) if listener else []
        rule = next(
            (r for r in rules if not r.get("IsDefault") and wanted <= set(forward_weights(actions_of(r)))), None
        )
        if rule is None:
            problems.append(f"no rule of listener {port} forwards to both {lb.target_group} and {lb.alternate}")
        else:
            arns.append(rule["RuleArn"])
    if problems:
        return fail("; ".join(problems), FIX_BY_STACK, arns)
    return ok(
        f"listeners {', '.join(map(str, ports))} each have the service's rule ({lb.target_group}, {lb.alternate})", arns
    )


def health_path(view: LiveView, _: Phase | None) -> Verdict:
    """Both target groups health-check the phases' health path (the default / has no route in most services)."""
    lb = view.settings.service.load_balancer
    wanted = {p.container.health_check.path for p in view.ctx.phases}
    problems, arns = [], []
    for name in (lb.target_group, lb.alternate):
        group = view.ctx.elbv2.target_group(name)
        if group is None:
            continue  # listener rules says so
        arns.append(group["TargetGroupArn"])
        if group.get("HealthCheckPath") not in wanted:
            problems.append(
                f"{name} checks {group.get('HealthCheckPath')}, the phases answer on {', '.join(sorted(wanted))}"
            )
    if problems:
        return fail(
            "; ".join(problems), f"set the health check path (the template's HealthCheckPath); {FIX_BY_STACK}", arns
        )
    return ok(f"the target groups check {', '.join(sorted(wanted))}", arns)


def task_ingress(view: LiveView, _: Phase | None) -> Verdict:
    """The tasks' security group admits the load balancer's on the phases' container port (incident 8)."""
    ports = {p.container.port for p in view.ctx.phases}
    balancer = view.load_balancer()
    if balancer is None:
        return skip("no load balancer (listeners says so)")
    alb = set(balancer.get("SecurityGroups", []))
    names = view.settings.service.network.security_groups
    ids = view.ctx.ec2.security_group_ids(names)
    groups = {g["GroupId"]: g for g in view.ctx.ec2.security_groups(ids)} if ids else {}
    closed = [port for port in sorted(ports) if not any(alb & set(admitted_sources(g, port)) for g in groups.values())]
    if closed:
        return fail(
            f"{', '.join(names)} admit(s) no traffic from {', '.join(sorted(alb))} on port(s) {closed}",
            f"authorize tcp {closed[0]} from the load balancer's group; {FIX_BY_STACK}",
            list(groups),
        )
    return ok(f"{', '.join(names)} admit(s) the load balancer on {', '.join(map(str, sorted(ports)))}", list(groups))


def load_balancer_role(view: LiveView, _: Phase | None) -> Verdict:
    """The role ECS moves the listener rules with exists and trusts ecs.amazonaws.com."""
    arn = view.settings.environment.load_balancer_role_arn
    if arn is None:
        return skip("the environment names no load_balancer_role_arn (rolling deploys do not need it)")
    role = view.role(arn)
    if role is None:
        return fail(f"{arn} does not exist", FIX_BY_STACK)
    policy = role.get("AssumeRolePolicyDocument") or {}
    if isinstance(policy, str):
        policy = json.loads(urllib.request.unquote(policy))
    if '"ecs.amazonaws.com"' not in json.dumps(policy):
        return fail(f"{arn} does not trust ecs.amazonaws.com", "trust ecs.amazonaws.com (sts:AssumeRole)", [arn])
    return ok(f"{arn} exists and trusts ecs.amazonaws.com", [arn])


def model_bucket(view: LiveView, _: Phase | None) -> Verdict:
    """The environment's model bucket exists (phases 3 and 4 load their models from it)."""
    name = view.settings.environment.model_bucket
    if name is None:
        return skip("the environment names no model_bucket")
    if not S3Api(view.ctx.clients).bucket_exists(name):
        return fail(f"bucket {name} does not exist", FIX_BY_STACK)
    return ok(f"bucket {name} exists", [f"arn:aws:s3:::{name}"])
