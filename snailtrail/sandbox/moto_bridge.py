"""The only module that reaches into moto's in-process models.

moto has no ECS agent: deployments never progress, no service task starts, every target is
healthy. The reconciler plays the agent and writes what it observes here, so that every public
API answer (describe_services, describe_tasks, describe_target_health) looks as it would on AWS and
snailtrail's own code needs no sandbox special case.
"""

from __future__ import annotations

import functools
import inspect
import threading
from datetime import UTC, datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service, Task, TaskDefinition, ecs_backends
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup, elbv2_backends
from moto.moto_api import state_manager

from snailtrail.sandbox import strict
from snailtrail.sandbox.network import Balancer, Group, NetworkState, RouteTable, Rule, Subnet

# moto's backends are plain dicts and lists shared with the request threads of the server.
LOCK = threading.RLock()
_HEALTH_KEY = "snailtrail_health"
_patched = False
_strict = False


def enable_agent_mode() -> None:
    """Tasks keep the status the reconciler gives them; targets report the health it measured; and
    the control plane refuses what ECS refuses (``enable_strict_mode``)."""
    global _patched
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**12})
    enable_strict_mode()
    if _patched:
        return
    original = FakeTargetGroup.health_for

    def health_for(self: FakeTargetGroup, target: dict[str, Any], ec2_backend: Any) -> FakeHealthStatus:
        registered = self.targets.get(target["Id"])
        if registered is not None and _HEALTH_KEY in registered:
            state, reason, description = registered[_HEALTH_KEY]
            return FakeHealthStatus(
                registered["Id"], registered["Port"], self.health_check_port, state, reason, description
            )
        return original(self, target, ec2_backend)

    FakeTargetGroup.health_for = health_for  # type: ignore[method-assign]

    original_update = EC2ContainerServiceBackend.update_service

    def update_service(self: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Service:
        # ECS answers update_service with the new PRIMARY deployment already in place, and the
        # reconciler must never see the new count with the old task definition.
        with LOCK:
            service = original_update(self, properties)
            primary_deployment(service)
        return service

    EC2ContainerServiceBackend.update_service = update_service  # type: ignore[method-assign]
    for name in ("list_tasks", "describe_tasks"):
        setattr(
            EC2ContainerServiceBackend, name, _tolerate_concurrent_inserts(getattr(EC2ContainerServiceBackend, name))
        )
    _patched = True


def enable_strict_mode() -> None:
    """moto refuses, with ECS's own error code and message, every request strict.py says ECS refuses.

    Installed on moto's backend classes, so the daemon's server and in-process ``mock_aws`` both get it.
    """
    global _strict
    if _strict:
        return
    backend = EC2ContainerServiceBackend
    backend.register_task_definition = _refusing(backend.register_task_definition, _check_registration)  # type: ignore[method-assign]
    backend.create_service = _refusing(backend.create_service, _check_creation)  # type: ignore[method-assign]
    backend.update_service = _refusing(backend.update_service, _check_update)  # type: ignore[method-assign]
    _strict = True


def _refusing(method: Any, check: Any) -> Any:
    """``method`` preceded by ``check(backend, arguments by name)``; a refusal becomes moto's ECS error."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        try:
            check(self, arguments)
        except strict.Refused as refusal:
            if refusal.code == strict.CLIENT_EXCEPTION:
                raise EcsClientException(refusal.message) from None
            raise InvalidParameterException(refusal.message) from None
        return method(self, *args, **kwargs)

    return wrapper


def _check_registration(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    strict.check_task_definition(
        {
            "requiresCompatibilities": arguments.get("requires_compatibilities"),
            "networkMode": arguments.get("network_mode"),
            "cpu": arguments.get("cpu"),
            "memory": arguments.get("memory"),
            "executionRoleArn": arguments.get("execution_role_arn"),
            "containerDefinitions": arguments["container_definitions"],
        }
    )


def _check_creation(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    strict.check_public_ip(arguments.get("launch_type"), arguments.get("network_configuration"))
    if not arguments.get("task_definition_str"):
        return
    definition = _definition(backend.describe_task_definition(arguments["task_definition_str"]))
    strict.check_revision_active(definition)
    strict.check_launch_type(arguments.get("launch_type"), definition)
    entries = arguments.get("load_balancers") or []
    groups = _target_groups(backend)
    strict.check_load_balancers(entries, definition, groups)
    strict.check_target_groups_attached(entries, groups)


def _check_update(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    properties = arguments["service_properties"]  # UpdateService's parameters, in moto's snake_case
    service = backend._get_service(properties.get("cluster", "default"), properties["service"])
    strict.check_public_ip(service.launch_type, properties.get("network_configuration"))
    if not properties.get("task_definition") and not properties.get("load_balancers"):
        return  # scaling a service keeps its revision, even one deregistered since
    definition = _definition(
        backend.describe_task_definition(properties.get("task_definition") or service.task_definition)
    )
    if properties.get("task_definition"):
        strict.check_revision_active(definition)
        strict.check_launch_type(service.launch_type, definition)
    groups = _target_groups(backend)
    strict.check_load_balancers(properties.get("load_balancers") or service.load_balancers, definition, groups)
    strict.check_target_groups_attached(properties.get("load_balancers") or [], groups)


def _definition(model: TaskDefinition) -> dict[str, Any]:
    """The parts of a registered task definition the service rules read, in the API's shape."""
    return {
        "status": model.status,
        "compatibilities": model.compatibilities,
        "networkMode": model.network_mode,
        "containerDefinitions": model.container_definitions,
    }


def _target_groups(backend: EC2ContainerServiceBackend) -> dict[str, strict.TargetGroup]:
    """The account's target groups, each with whether a listener or rule forwards to it now.

    moto's own record (``load_balancer_arns``) misses ModifyListener, so the listeners are read instead.
    """
    balancing = elbv2(backend.region_name, backend.account_id)
    forwarded: set[str] = set()
    for balancer in list(balancing.load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            rules = list(listener._non_default_rules.values())
            for action in [*listener.default_actions, *(a for rule in rules for a in rule.actions)]:
                if action.type == "forward":
                    forwarded.update(balancing._get_target_group_arns_from(action_data=action.data))
    return {
        arn: strict.TargetGroup(group.target_type, arn in forwarded)
        for arn, group in list(balancing.target_groups.items())
    }


def _tolerate_concurrent_inserts(method: Any) -> Any:
    """moto iterates its task dicts while the reconciler may add a task: ask again, as a client retries."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        for _ in range(4):
            try:
                return method(*args, **kwargs)
            except RuntimeError as exc:
                if "changed size during iteration" not in str(exc):
                    raise
        return method(*args, **kwargs)

    return wrapper


def primary_deployment(service: Service) -> dict[str, Any]:
    """The PRIMARY deployment, opening a new one when the service's task definition changed."""
    import uuid

    primary = next((d for d in service.deployments if d["status"] == "PRIMARY"), None)
    if primary is not None and primary["taskDefinition"] == service.task_definition:
        primary["desiredCount"] = service.desired_count
        return primary
    if primary is not None:
        primary["status"] = "ACTIVE"
    deployment = {
        "id": f"ecs-svc/{uuid.uuid4().int % 10**19:019d}",
        "status": "PRIMARY",
        "taskDefinition": service.task_definition,
        "desiredCount": service.desired_count,
        "pendingCount": 0,
        "runningCount": 0,
        "failedTasks": 0,
        "createdAt": now(),
        "updatedAt": now(),
        "launchType": service.launch_type,
        "rolloutState": "IN_PROGRESS",
        "rolloutStateReason": "ECS deployment in progress.",
        "networkConfiguration": service.network_configuration or None,
    }
    service.deployments.insert(0, deployment)
    return deployment


def now() -> datetime:
    return datetime.now(UTC)


def ecs(region: str, account: str = DEFAULT_ACCOUNT_ID) -> Any:
    return ecs_backends[account][region]


def elbv2(region: str, account: str = DEFAULT_ACCOUNT_ID) -> Any:
    return elbv2_backends[account][region]


def services(region: str) -> list[Service]:
    return list(ecs(region).services.values())


def new_task(region: str, service: Service, task_definition_arn: str, deployment_id: str) -> Task:
    backend = ecs(region)
    cluster = backend.clusters[service.cluster_name]
    definition = backend.describe_task_definition(task_definition_arn)
    network = service.network_configuration or None
    task = Task(
        cluster,
        definition,
        None,
        None,
        backend=backend,
        group=f"service:{service.name}",
        launch_type=service.launch_type or "FARGATE",
        started_by=deployment_id,
        networking_configuration=network,
    )
    task.last_status = "PROVISIONING"
    task.desired_status = "RUNNING"
    task.health_status = "UNKNOWN"
    task.containers[0].last_status = "PENDING"
    task.containers[0].health_status = "UNKNOWN"
    task.created_at = now()
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


def task_ip(task: Task) -> str:
    from snailtrail.checks.criteria import task_ips

    addresses = task_ips({"attachments": task.attachments})
    if not addresses:
        raise ValueError(f"task {task.task_arn} has no ENI address")
    return addresses[0]


def mark_running(task: Task) -> None:
    task.last_status = "RUNNING"
    task.started_at = now()
    task.containers[0].last_status = "RUNNING"


def mark_stopped(task: Task, reason: str, exit_code: int | None, container_reason: str | None = None) -> None:
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stopped_at = now()
    container = task.containers[0]
    container.last_status = "STOPPED"
    container.exitCode = exit_code
    if container_reason:
        container.reason = container_reason


def add_event(service: Service, message: str) -> None:
    import uuid

    service.events.insert(
        0, {"id": str(uuid.uuid4()), "createdAt": now(), "message": f"(service {service.name}) {message}"}
    )
    del service.events[100:]


def register_target(region: str, target_group_arn: str, target_id: str, port: int) -> None:
    group = elbv2(region).target_groups.get(target_group_arn)
    if group is not None:
        group.register([{"Id": target_id, "Port": port}])
        group.targets[target_id][_HEALTH_KEY] = (
            "initial",
            "Elb.RegistrationInProgress",
            "Target registration is in progress",
        )


def set_target_health(
    region: str,
    target_group_arn: str,
    target_id: str,
    state: str,
    reason: str | None = None,
    description: str | None = None,
) -> None:
    group = elbv2(region).target_groups.get(target_group_arn)
    if group is not None and target_id in group.targets:
        group.targets[target_id][_HEALTH_KEY] = (state, reason, description)


def deregister_target(region: str, target_group_arn: str, target_id: str) -> None:
    group = elbv2(region).target_groups.get(target_group_arn)
    if group is not None and target_id in group.targets:
        group.deregister([{"Id": target_id}])


def target_group(region: str, arn: str) -> FakeTargetGroup | None:
    return elbv2(region).target_groups.get(arn)


def routable_targets(region: str, target_group_arn: str) -> list[tuple[str, int]]:
    """(id, port) of the targets an ALB sends new requests to: the healthy ones or, when every registered
    target is unhealthy, all of those (ELB docs, "Health checks for Application Load Balancer target
    groups": with only unhealthy targets the load balancer fails open)."""
    group = target_group(region, target_group_arn)
    if group is None:
        return []
    states = [(tid, int(t["Port"]), t.get(_HEALTH_KEY, ("healthy",))[0]) for tid, t in list(group.targets.items())]
    healthy = [(tid, port) for tid, port, state in states if state == "healthy"]
    return healthy or [(tid, port) for tid, port, state in states if state == "unhealthy"]


def load_balancer_arn(region: str, load_balancer_name: str) -> str:
    for balancer in list(elbv2(region).load_balancers.values()):
        if balancer.name == load_balancer_name:
            return balancer.arn
    return f"arn:aws:elasticloadbalancing:{region}:{DEFAULT_ACCOUNT_ID}:loadbalancer/app/{load_balancer_name}/none"


def listener_forwards(region: str, load_balancer_name: str, port: int) -> list[tuple[str, int]]:
    """(target group arn, weight) pairs of the listener's default forward action."""
    backend = elbv2(region)
    for balancer in list(backend.load_balancers.values()):
        if balancer.name != load_balancer_name:
            continue
        for listener in list(balancer.listeners.values()):
            if int(listener.port) != port:
                continue
            return _forwards(listener.default_actions)
    return []


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
        forwarded = {
            arn for listener in list(balancer.listeners.values()) for arn, _ in _forwards(listener.default_actions)
        }
        balancers[balancer.name] = Balancer(
            list(balancer.security_groups or []), [getattr(s, "id", s) for s in balancer.subnets], forwarded
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


def _logs(region: str, account: str = DEFAULT_ACCOUNT_ID) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def log_group_exists(region: str, group: str) -> bool:
    return group in _logs(region).groups


def create_log_group(region: str, group: str) -> None:
    if not log_group_exists(region, group):
        _logs(region).create_log_group(group, {})


def create_log_stream(region: str, group: str, stream: str) -> None:
    _logs(region).ensure_log_stream(group, stream)


def put_log_events(region: str, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    events = [{"timestamp": at, "message": message} for at, message in sorted(lines, key=lambda line: line[0])]
    _logs(region).put_log_events(group, stream, events)
