"""Drills: inject one incident of docs/incidents.md into the sandbox, and undo it.

Every drill goes through the public AWS API, as an operator's mistake would, so `verify` sees it
exactly as it would see the real thing; the public-DNS drills also change what the internet resolves
(public_dns.py), which on AWS lives outside Route 53.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from snailtrail.context import Context
from snailtrail.errors import ConfigError, SnailtrailError
from snailtrail.plan.taskdef import render
from snailtrail.sandbox.public_dns import PublicDns, public_dns_file

OTHER_LOAD_BALANCER = "drill-other-alb"
HEAL_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class Drill:
    kind: str
    incident: str
    caught_by: str
    inject: Callable[[Context], str]
    undo: Callable[[Context], str]


def _groups(ctx: Context) -> tuple[str, str, int]:
    service = ctx.ecs.describe_service(ctx.settings.service.name)
    if service is None:
        raise SnailtrailError("the service does not exist", fix="deploy a phase first: snailtrail deploy phase-1")
    task_group = service["networkConfiguration"]["awsvpcConfiguration"]["securityGroups"][0]
    alb = ctx.elbv2.load_balancer(ctx.settings.service.load_balancer.name)
    port = service["loadBalancers"][0]["containerPort"]
    return task_group, alb["SecurityGroups"][0], port


def _rule(alb_group: str, port: int, description: str | None = "load balancer to tasks") -> list[dict]:
    """The ALB-to-task rule; revoked without its description, which a rule is not matched by (the stack's
    rule may have none)."""
    pair = {"GroupId": alb_group} | ({"Description": description} if description else {})
    return [{"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "UserIdGroupPairs": [pair]}]


def _remove_rule(ctx: Context) -> str:
    task_group, alb_group, port = _groups(ctx)
    ctx.clients.client("ec2").revoke_security_group_ingress(
        GroupId=task_group, IpPermissions=_rule(alb_group, port, description=None)
    )
    return f"revoked tcp {port} from {alb_group} on {task_group}"


def _restore_rule(ctx: Context) -> str:
    from botocore.exceptions import ClientError

    task_group, alb_group, port = _groups(ctx)
    try:
        ctx.clients.client("ec2").authorize_security_group_ingress(
            GroupId=task_group, IpPermissions=_rule(alb_group, port)
        )
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidPermission.Duplicate":
            raise
    return f"tcp {port} from {alb_group} allowed on {task_group}"


def _public_table(ctx: Context) -> tuple[str, list[dict]]:
    ec2 = ctx.clients.client("ec2")
    tables = ec2.describe_route_tables(
        Filters=[{"Name": "tag:Name", "Values": [f"{ctx.settings.service.name}-public"]}]
    )["RouteTables"]
    if not tables:
        raise SnailtrailError("the sandbox's public route table is missing", fix="snailtrail sandbox down && up")
    return tables[0]["RouteTableId"], tables[0].get("Associations", [])


def _detach_subnet(ctx: Context) -> str:
    table, associations = _public_table(ctx)
    subnet = ctx.ec2.subnet_ids(ctx.settings.service.network.subnets[:1])[0]
    for association in associations:
        if association.get("SubnetId") == subnet:
            ctx.clients.client("ec2").disassociate_route_table(AssociationId=association["RouteTableAssociationId"])
    return f"{subnet} no longer uses {table} (its internet-gateway route)"


def _attach_subnets(ctx: Context) -> str:
    table, associations = _public_table(ctx)
    attached = {a.get("SubnetId") for a in associations}
    subnets = ctx.ec2.subnet_ids(ctx.settings.service.network.subnets)
    for subnet in subnets:
        if subnet not in attached:
            ctx.clients.client("ec2").associate_route_table(RouteTableId=table, SubnetId=subnet)
    return f"{len(subnets)} subnet(s) use {table}"


def _point_record(ctx: Context, target: str) -> None:
    domain = ctx.settings.domain
    if domain is None:
        raise ConfigError("no service.domain configured: there is no record to point elsewhere", fix="set one")
    route53 = ctx.clients.client("route53")
    zone = route53.list_hosted_zones_by_name(DNSName=domain.hosted_zone)["HostedZones"][0]["Id"]
    balancers = ctx.clients.client("elbv2").describe_load_balancers()["LoadBalancers"]
    balancer = next(b for b in balancers if b["DNSName"] == target)
    # The stack's record is an alias A record to the load balancer; the drill moves that alias.
    alias = {"HostedZoneId": balancer["CanonicalHostedZoneId"], "DNSName": target, "EvaluateTargetHealth": False}
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {"Action": "UPSERT", "ResourceRecordSet": {"Name": domain.name, "Type": "A", "AliasTarget": alias}}
            ]
        },
    )


def _other_load_balancer(ctx: Context) -> str:
    """The DNS name of another ALB in the same subnets: where a misdirected domain leads."""
    other = ctx.elbv2.load_balancer(OTHER_LOAD_BALANCER)
    if other is None:
        mine = ctx.elbv2.load_balancer(ctx.settings.service.load_balancer.name)
        subnets = [z["SubnetId"] for z in mine["AvailabilityZones"]]
        other = ctx.clients.client("elbv2").create_load_balancer(
            Name=OTHER_LOAD_BALANCER,
            Subnets=subnets,
            SecurityGroups=mine["SecurityGroups"],
            Scheme="internet-facing",
            Type="application",
        )["LoadBalancers"][0]
    return other["DNSName"]


def _domain_name(ctx: Context) -> str:
    if ctx.settings.domain is None:
        raise ConfigError("no service.domain configured: there is no record to point elsewhere", fix="set one")
    return ctx.settings.domain.name


def _domain_elsewhere(ctx: Context) -> str:
    other = _other_load_balancer(ctx)
    _point_record(ctx, other)
    return f"{_domain_name(ctx)} now points at {other}"


def _public_dns_elsewhere(ctx: Context) -> str:
    """The registrar delegates to servers that send the name to another ALB; Route 53 still looks right."""
    other = _other_load_balancer(ctx)
    PublicDns(public_dns_file(ctx.settings)).delegate(_domain_name(ctx), "CNAME", [other])
    return f"{_domain_name(ctx)} resolves publicly to {other}; its Route 53 record is unchanged"


def _route53_elsewhere(ctx: Context) -> str:
    """The reverse: the Route 53 record points at another ALB while the public name still reaches this one."""
    name, other = _domain_name(ctx), _other_load_balancer(ctx)
    mine = ctx.elbv2.load_balancer(ctx.settings.service.load_balancer.name)
    PublicDns(public_dns_file(ctx.settings)).delegate(name, "CNAME", [mine["DNSName"]])
    _point_record(ctx, other)
    return f"the Route 53 record {name} points at {other}; the public name still resolves to {mine['DNSName']}"


def _domain_home(ctx: Context) -> str:
    mine = ctx.elbv2.load_balancer(ctx.settings.service.load_balancer.name)
    _point_record(ctx, mine["DNSName"])
    delegated = PublicDns(public_dns_file(ctx.settings)).clear()
    return f"{_domain_name(ctx)} points at {mine['DNSName']}" + (", publicly too" if delegated else "")


def _delete_service(ctx: Context) -> str:
    name = ctx.settings.service.name
    ctx.clients.client("ecs").delete_service(cluster=ctx.settings.service.cluster, service=name, force=True)
    return f"deleted service {name}"


def _restore_service(ctx: Context) -> str:
    from snailtrail.plan.deploy_plan import DeployOptions
    from snailtrail.run.service_ops import ServiceOps

    if ctx.ecs.describe_service(ctx.settings.service.name) is not None:
        return "the service exists"
    revision = ctx.history.last_verified()
    phase = ctx.phase_or_none(revision.phase) if revision else None
    if revision is None or phase is None:
        raise SnailtrailError(
            "no verified revision to recreate the service from", fix="snailtrail deploy phase-1 --yes"
        )
    done = ServiceOps.new_run(ctx, DeployOptions(create=True)).create(revision.arn, phase)
    return f"{done}; {_wait(ctx, revision.arn)}"


def _wrong_port(ctx: Context) -> str:
    service = ctx.ecs.describe_service(ctx.settings.service.name)
    if service is None:
        raise SnailtrailError("the service does not exist", fix="deploy a phase first")
    current = ctx.history.get(service["taskDefinition"])
    phase = ctx.phase_or_none(current.phase)
    if phase is None:
        raise SnailtrailError("the running revision has no phase", fix="deploy a phase first")
    definition = render(ctx.settings, phase, current.image)
    container = definition["containerDefinitions"][0]
    port = container["portMappings"][0]["containerPort"] + 80
    # Like a hand-made console edit of the app's PORT: ECS refuses a revision that drops the mapped port the
    # service's load balancer entry names, so the mapping stays and the app listens elsewhere.
    container["environment"] = [
        e if e["name"] != "PORT" else {"name": "PORT", "value": str(port)} for e in container["environment"]
    ]
    registered = ctx.ecs.register_task_definition(definition, {"snailtrail:drill": "wrong-port"})
    ctx.clients.client("ecs").update_service(
        cluster=ctx.settings.service.cluster,
        service=ctx.settings.service.name,
        taskDefinition=registered["taskDefinitionArn"],
    )
    return f"service now runs {registered['taskDefinitionArn'].rsplit('/', 1)[-1]} with PORT={port}"


def _verified_revision(ctx: Context) -> str:
    """Back to the last verified revision, exactly as `snailtrail rollback` does it (wait and verify)."""
    from snailtrail.plan.deploy_plan import DeployOptions
    from snailtrail.run.rollback_run import rollback_to
    from snailtrail.run.service_ops import ServiceOps

    service = ctx.ecs.describe_service(ctx.settings.service.name)
    revision = ctx.history.last_verified()
    if service is None or revision is None or service["taskDefinition"] == revision.arn:
        return "the service runs a verified revision"
    options = DeployOptions(timeout_s=HEAL_TIMEOUT_S, poll_interval_s=ctx.default_poll_interval_s)
    result = rollback_to(ctx, ServiceOps.new_run(ctx, options), revision, reason="sandbox heal")
    if not result.ok:
        raise SnailtrailError(f"heal could not restore {revision.arn}: {result.message}", fix="snailtrail status")
    return result.message


def _wait(ctx: Context, arn: str) -> str:
    """A recreated service is healed when its verified revision is stable again."""
    from snailtrail.run.deployment_watch import watch_deployment

    outcome = watch_deployment(ctx.ecs, ctx.settings.service.name, arn, HEAL_TIMEOUT_S, ctx.default_poll_interval_s)
    if not outcome.ok:
        raise SnailtrailError(
            f"the service did not settle after healing: {outcome.summary}", fix="snailtrail status; snailtrail rollback"
        )
    return outcome.summary


DRILLS = {
    d.kind: d
    for d in [
        Drill(
            "sg-rule",
            "4, 8: no ingress rule from the load balancer to the tasks",
            "security groups",
            _remove_rule,
            _restore_rule,
        ),
        Drill(
            "route-table",
            "5: a subnet not associated with the internet-gateway route table",
            "network path",
            _detach_subnet,
            _attach_subnets,
        ),
        Drill(
            "domain", "9: the domain points at another load balancer", "dns ownership", _domain_elsewhere, _domain_home
        ),
        Drill(
            "public-dns",
            "9: the public name resolves to another load balancer while Route 53 looks right",
            "dns ownership",
            _public_dns_elsewhere,
            _domain_home,
        ),
        Drill(
            "route53-dns",
            "9: the Route 53 record points at another load balancer while the public name looks right",
            "dns ownership",
            _route53_elsewhere,
            _domain_home,
        ),
        Drill("service", "1: the service does not exist", "service active", _delete_service, _restore_service),
        Drill(
            "port",
            "10, 11: the task definition's container port disagrees with the target group",
            "port alignment",
            _wrong_port,
            _verified_revision,
        ),
    ]
}


def inject(ctx: Context, kind: str) -> str:
    if kind not in DRILLS:
        raise ConfigError(f"unknown drill {kind!r}", fix=f"choose one of: {', '.join(DRILLS)}")
    return DRILLS[kind].inject(ctx)


def heal(ctx: Context) -> list[str]:
    """Undo every drill (each undo is a no-op when its drill was not injected)."""
    return [DRILLS[kind].undo(ctx) for kind in ("service", "port", "sg-rule", "route-table", "domain")]
