"""DNS, load balancer, listener, target group and network checks."""

from __future__ import annotations

from typing import Any

from snailtrail.checks.base import Verdict, fail, ok, skip, warn
from snailtrail.checks.ingress import admitted_sources, covers_every, subnet_ranges
from snailtrail.checks.spec import check
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase


def _container_port(view: LiveView, phase: Phase | None) -> int | None:
    revision = view.running_revision()
    if revision is not None:
        mappings = revision.definition["containerDefinitions"][0].get("portMappings") or []
        if mappings:
            return int(mappings[0]["containerPort"])
    return phase.container.port if phase else None


def _no_load_balancer(view: LiveView) -> Verdict:
    """Why a check that follows traffic through the configured load balancer fails without it."""
    return fail(
        f"load balancer {view.settings.service.load_balancer.name} not found",
        "create it, or fix service.load_balancer.name",
    )


@check("dns ownership", "dns", prevents="9: the domain pointed at another load balancer")
def dns_ownership(view: LiveView, phase: Phase | None) -> Verdict:
    """The domain, resolved over DNS (CNAME chain and A records), and its Route 53 record both lead to the configured
    load balancer."""
    import dns.exception
    import dns.resolver

    domain = view.settings.domain
    if domain is None:
        return skip("no domain configured (service.domain)")
    balancer = view.load_balancer()
    if balancer is None:
        return _no_load_balancer(view)
    alb = balancer["DNSName"].lower().rstrip(".")
    public = view.route53_record()
    problems = []
    if public is None or public.zone_id is None:
        problems.append(f"no hosted zone {domain.hosted_zone}")
    elif public.record is None:
        problems.append(f"no Route 53 record {domain.name}")
    else:
        found = public.record
        target = (found.get("AliasTarget") or {}).get("DNSName") or next(
            iter(r["Value"] for r in found.get("ResourceRecords", [])), ""
        )
        if target.lower().rstrip(".").removeprefix("dualstack.") != alb:
            problems.append(f"the Route 53 record {domain.name} points at {target.rstrip('.')}, not {alb}")
    resolver = dns.resolver.Resolver(configure=view.dns_server is None)
    if view.dns_server:
        host, _, port = view.dns_server.partition(":")
        resolver.nameservers = [host]
        resolver.port = int(port or 53)
    resolver.lifetime = 3.0
    try:
        answer = resolver.resolve(domain.name, "A")
        chain = [str(rrset.name).rstrip(".").lower() for rrset in answer.response.answer]
        chain += [
            str(r.target).rstrip(".").lower() for rrset in answer.response.answer for r in rrset if hasattr(r, "target")
        ]
        # An alias record answers with the ALB's addresses directly: then the addresses must match.
        addresses = {r.address for rrset in answer.response.answer for r in rrset if hasattr(r, "address")}
        if alb not in chain and not addresses & _addresses(resolver, alb):
            problems.append(
                f"{domain.name} resolves through {' -> '.join(dict.fromkeys(chain))}, which does not reach {alb}"
            )
    except dns.exception.DNSException as exc:
        problems.append(f"{domain.name} does not resolve ({exc.__class__.__name__})")
    if problems:
        return fail(
            "; ".join(problems),
            f"point {domain.name} (CNAME or alias) at {alb} in zone {domain.hosted_zone}",
            [domain.name, balancer["LoadBalancerArn"]],
        )
    return ok(f"{domain.name} resolves to {alb}, and Route 53 agrees", [domain.name, balancer["LoadBalancerArn"]])


def _addresses(resolver: Any, name: str) -> set[str]:
    """A name's A records, or none; an ALB answers with a changing subset, so callers compare overlap."""
    import dns.exception

    try:
        return {r.address for r in resolver.resolve(name, "A")}
    except dns.exception.DNSException:
        return set()


@check("listener forwards", "listener", prevents="9, 10: traffic reached a load balancer not forwarding to the service")
def listener_forwards(view: LiveView, phase: Phase | None) -> Verdict:
    """The configured load balancer exists and its traffic listener (environments.<name>.traffic.listener_port, else
    service.load_balancer.listener_port) forwards to the service's target group."""
    config = view.settings.service.load_balancer
    balancer = view.load_balancer()
    if balancer is None:
        return _no_load_balancer(view)
    group = view.target_group()
    port = view.settings.production_listener_port  # the environment's traffic listener: port 80 may only redirect
    listener = next((x for x in view.listeners() if x["Port"] == port), None)
    if listener is None:
        return fail(
            f"{config.name} has no listener on port {port}",
            f"add a listener on {port} forwarding to {config.target_group}",
            [balancer["LoadBalancerArn"]],
        )
    forwards = view.forwarded_target_groups(listener)
    if group is None or group["TargetGroupArn"] not in forwards:
        return fail(
            f"listener {port} forwards to "
            f"{', '.join(a.rsplit('/', 2)[-2] for a in forwards) or 'nothing'}, not {config.target_group}",
            f"modify the listener's default action to forward to {config.target_group}",
            [listener["ListenerArn"]],
        )
    return ok(
        f"{config.name}:{port} forwards to {config.target_group}", [listener["ListenerArn"], group["TargetGroupArn"]]
    )


@check("target group attached", "target group", prevents="10: the target group was not attached to a listener")
def target_group_attached(view: LiveView, phase: Phase | None) -> Verdict:
    """The service's target group exists and is attached to the configured load balancer."""
    config = view.settings.service.load_balancer
    group = view.target_group()
    if group is None:
        return fail(
            f"target group {config.target_group} not found",
            "create it (ip targets, the container port), or fix service.load_balancer.target_group",
        )
    balancer = view.load_balancer()
    if balancer is None or balancer["LoadBalancerArn"] not in group.get("LoadBalancerArns", []):
        return fail(
            f"{config.target_group} is not attached to {config.name}",
            f"forward a listener of {config.name} to it",
            [group["TargetGroupArn"]],
        )
    targets = f"{group['TargetType']} targets, port {group['Port']}"
    return ok(f"{config.target_group} ({targets}) is attached to {config.name}", [group["TargetGroupArn"]])


@check("port alignment", "target group", prevents="2, 6, 8, 11: ports disagreed across layers")
def port_alignment(view: LiveView, phase: Phase | None) -> Verdict:
    """listener -> target group -> health check -> service containerPort -> task definition -> PORT -> the port the app
    answers on, printed as one chain with the broken link marked."""
    group = view.target_group()
    service = view.service() or {}
    revision = view.running_revision()
    links: list[tuple[str, Any]] = [("listener", view.settings.production_listener_port)]
    expected = _container_port(view, phase)
    # ECS registers each task on the container port whatever the target group's nominal port, and the health
    # check's "traffic-port" is the registered one: a nominal port of 80 is harmless.
    group_port = group["Port"] if group else None
    links.append(("target group", group_port))
    health_port = group.get("HealthCheckPort", "traffic-port") if group else None
    links.append(
        ("health check", expected if health_port == "traffic-port" else int(health_port) if health_port else None)
    )
    entries = [
        e for e in service.get("loadBalancers", []) if group and e.get("targetGroupArn") == group["TargetGroupArn"]
    ]
    links.append(("service", entries[0]["containerPort"] if entries else None))
    links.append(("task definition", expected))
    env = {}
    if revision is not None:
        env = {e["name"]: e["value"] for e in revision.definition["containerDefinitions"][0].get("environment", [])}
    links.append(("PORT", int(env["PORT"]) if env.get("PORT", "").isdigit() else env.get("PORT")))
    health = view.target_health()
    healthy = [d["Target"].get("Port") for d in health if d["TargetHealth"]["State"] == "healthy"]
    links.append(("app", healthy[0] if healthy else None))
    chain = []
    broken = None
    for index, (name, value) in enumerate(links):
        linked = value is not None and (index == 0 or name == "target group" or value == expected)
        if name == "PORT" and value is None:
            linked, value = True, "unset"
        if name == "app" and value is None:
            linked, value = False, "no healthy target"
        if not linked and broken is None:
            broken = name
        nominal = " (nominal)" if name == "target group" and value not in (None, expected) else ""
        chain.append(f"{'✗ ' if not linked else ''}{name} {value}{nominal}")
    summary = " -> ".join(chain)
    if broken:
        return fail(
            summary,
            f"make {broken} use container port {expected}, the port the task definition maps",
            [group["TargetGroupArn"]] if group else [],
        )
    return ok(summary, [group["TargetGroupArn"]] if group else [])


@check("security groups", "network", prevents="4, 8: no ingress rule from the load balancer to the tasks' port")
def security_groups(view: LiveView, phase: Phase | None) -> Verdict:
    """The task group admits the ALB group on the target port, the ALB group admits the listener port, egress allows
    the path, and nothing opens the task port to 0.0.0.0/0."""
    groups = view.security_groups()
    task_ids = view.awsvpc().get("securityGroups", [])
    balancer = view.load_balancer() or {}
    alb_ids = balancer.get("SecurityGroups", [])
    port = _container_port(view, phase)
    listener_port = view.settings.production_listener_port  # where users arrive: 443 behind an 80 -> 443 redirect
    if not task_ids or port is None:
        return skip("the service has no awsvpc security groups to check")
    problems, warnings = [], []
    task_sources = [s for gid in task_ids if gid in groups for s in admitted_sources(groups[gid], port)]
    # The load balancer's subnets are read only when no rule names its group (a CIDR may cover them).
    if not set(task_sources) & set(alb_ids) and not covers_every(
        task_sources, subnet_ranges(view.load_balancer_subnets())
    ):
        problems.append(
            f"task group(s) {', '.join(task_ids)} admit {', '.join(task_sources) or 'nothing'} on "
            f"port {port}, not the load balancer's {', '.join(alb_ids) or '(none)'}"
        )
    open_to_all = [s for s in ("0.0.0.0/0", "::/0") if s in task_sources]
    if open_to_all:
        warnings.append(f"port {port} of the tasks is open to {' and '.join(open_to_all)}")
    alb_sources = [s for gid in alb_ids if gid in groups for s in admitted_sources(groups[gid], listener_port)]
    if alb_ids and not alb_sources:
        problems.append(f"load balancer group(s) {', '.join(alb_ids)} admit nothing on listener port {listener_port}")
    for gid in alb_ids:
        egress = groups.get(gid, {}).get("IpPermissionsEgress", [])
        if egress is not None and not any(
            r.get("IpProtocol") == "-1" or r.get("FromPort", 0) <= port <= r.get("ToPort", 65535) for r in egress
        ):
            problems.append(f"load balancer group {gid} has no egress to port {port}")
    resources = list(task_ids) + list(alb_ids)
    if problems:
        fix = (
            f"authorize ingress on {', '.join(task_ids)}: tcp {port} from {alb_ids[0]}"
            if alb_ids and "task group" in problems[0]
            else "open the listener port on the load balancer's group"
        )
        return fail("; ".join(problems), fix, resources)
    if warnings:
        return warn("; ".join(warnings), f"admit only {', '.join(alb_ids)} on port {port}", resources)
    return ok(f"{', '.join(alb_ids)} -> {', '.join(task_ids)} on {port}; listener {listener_port} open", resources)


PRIVATE_PATH_ENDPOINTS = {"ecr.api", "ecr.dkr", "s3", "logs"}
# Where a route can send traffic (EC2 API reference, Route): an internet gateway is the public path;
# every other target (NAT gateway, transit gateway, NAT instance or appliance ENI, peering) is a
# private path whose far side the account controls.
ROUTE_TARGETS = (
    "GatewayId",
    "NatGatewayId",
    "TransitGatewayId",
    "InstanceId",
    "NetworkInterfaceId",
    "VpcPeeringConnectionId",
    "CarrierGatewayId",
    "CoreNetworkArn",
    "LocalGatewayId",
)


def _default_route(view: LiveView, subnet: dict[str, Any]) -> tuple[str, str | None]:
    """The subnet's own route table (explicit association, else the main table) and where 0.0.0.0/0 goes."""
    tables = view.route_tables(subnet["VpcId"])
    explicit = [t for t in tables if any(a.get("SubnetId") == subnet["SubnetId"] for a in t.get("Associations", []))]
    main = [t for t in tables if any(a.get("Main") for a in t.get("Associations", []))]
    table = (explicit or main or [None])[0]
    default = [
        r
        for r in (table or {}).get("Routes", [])
        if r.get("DestinationCidrBlock") == "0.0.0.0/0" and r.get("State") != "blackhole"
    ]
    via = next((default[0][key] for key in ROUTE_TARGETS if default[0].get(key)), None) if default else None
    if table is None:
        return subnet["SubnetId"], via
    return f"{subnet['SubnetId']} ({'explicit ' + table['RouteTableId'] if explicit else 'main table'})", via


def _private_route(via: str | None) -> bool:
    """A default route that reaches beyond the VPC without the tasks' own public addresses."""
    return via is not None and not via.startswith("igw-") and via != "local"


def _missing_endpoints(view: LiveView, vpc_id: str) -> set[str]:
    prefix = f"com.amazonaws.{view.ctx.clients.region}."
    return PRIVATE_PATH_ENDPOINTS - {e["ServiceName"].removeprefix(prefix) for e in view.vpc_endpoints(vpc_id)}


@check("network path", "network", prevents="5: tasks got no route to the internet (subnet not on the IGW route table)")
def network_path(view: LiveView, phase: Phase | None) -> Verdict:
    """With assignPublicIp ENABLED each subnet routes 0.0.0.0/0 to an internet gateway (explicit association or the
    main table); with DISABLED a NAT gateway (or transit gateway, NAT instance, peering) or VPC endpoints for ECR,
    S3 and logs."""
    awsvpc = view.awsvpc()
    subnets = view.subnets()
    if not subnets:
        return skip("the service has no awsvpc subnets to check")
    public = awsvpc.get("assignPublicIp") == "ENABLED"
    problems = []
    for subnet in subnets:
        where, via = _default_route(view, subnet)
        if public and not (via and via.startswith("igw-")):
            problems.append(f"{where} routes 0.0.0.0/0 to {via or 'nothing'}, not an internet gateway")
        if not public and not _private_route(via):
            missing = _missing_endpoints(view, subnet["VpcId"])
            if missing:
                problems.append(
                    f"{where} has no NAT or transit route and lacks VPC endpoints for {', '.join(sorted(missing))}"
                )
    ids = [s["SubnetId"] for s in subnets]
    if problems:
        return fail(
            "; ".join(problems),
            "associate the subnet with the route table whose 0.0.0.0/0 route targets the internet gateway"
            if public
            else "add a NAT gateway route or VPC endpoints for ECR, S3 and CloudWatch Logs",
            ids,
        )
    return ok(
        f"{len(ids)} subnet(s) route 0.0.0.0/0 to "
        + ("an internet gateway" if public else "a NAT or transit route, or VPC endpoints"),
        ids,
    )


@check("https redirect", "listener", prevents="plain HTTP served in production")
def https_redirect(view: LiveView, phase: Phase | None) -> Verdict:
    """In environments marked production, the plain-HTTP listener redirects to HTTPS and an HTTPS listener exists."""
    if not view.settings.environment.production:
        return skip(f"environment {view.settings.environment_name} is not marked production")
    test_port = view.settings.service.load_balancer.test_listener_port
    # The test listener serves operators and snailtrail's probes, never users.
    listeners = [x for x in view.listeners() if x.get("Port") != test_port]
    plain = [x for x in listeners if x.get("Protocol") == "HTTP"]
    secure = [x for x in listeners if x.get("Protocol") == "HTTPS"]
    unredirected = [
        x
        for x in plain
        if not any(
            a.get("Type") == "redirect" and (a.get("RedirectConfig") or {}).get("Protocol") == "HTTPS"
            for a in x.get("DefaultActions", [])
        )
    ]
    resources = [x["ListenerArn"] for x in listeners]
    if unredirected or not secure:
        ports = ", ".join(str(x["Port"]) for x in unredirected)
        return fail(
            (f"HTTP listener(s) on {ports} serve without redirecting to HTTPS" if ports else "no HTTPS listener"),
            "add an HTTPS listener with a certificate and make port 80 redirect to it (HTTP_301)",
            resources,
        )
    return ok(f"{len(plain)} HTTP listener(s) redirect to HTTPS", resources)


@check("public ips", "network", prevents="tasks exposed with public addresses they do not need")
def public_ips(view: LiveView, phase: Phase | None) -> Verdict:
    """With assignPublicIp ENABLED, warns when the subnets also have a NAT route or VPC endpoints, so the tasks would
    reach ECR and logs without public addresses."""
    awsvpc = view.awsvpc()
    subnets = view.subnets()
    if awsvpc.get("assignPublicIp") != "ENABLED" or not subnets:
        return skip("tasks get no public IPs")
    private_paths = []
    for subnet in subnets:
        _, via = _default_route(view, subnet)
        if _private_route(via) or not _missing_endpoints(view, subnet["VpcId"]):
            private_paths.append(subnet["SubnetId"])
    if private_paths:
        return warn(
            f"tasks get public IPs although {', '.join(private_paths)} reach AWS through a "
            "NAT or transit route or VPC endpoints",
            "set assign_public_ip: false",
            private_paths,
        )
    return ok(
        "public IPs are the tasks' only way to ECR and logs (no NAT, no endpoints)", [s["SubnetId"] for s in subnets]
    )
