"""Plays ECS's agent inside moto's in-process models: tasks, deployments, target health, events, logs.

moto has no ECS agent: deployments never progress, no service task starts, every target is
healthy. The reconciler plays the agent and writes what it observes here, so that every public
API answer (describe_services, describe_tasks, describe_target_health) looks as it would on AWS and
snailtrail's own code needs no sandbox special case.

moto's internals are reached only here and in the modules beside it: moto_strict.py (ECS's
refusals) and moto_network.py (the network, load balancers and DNS records as the data plane reads
them). The tests' copies of moto's whole state are test set-up (tests/moto_state.py).
"""

from __future__ import annotations

import functools
import threading
from datetime import UTC, datetime
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.ecs.models import Container, EC2ContainerServiceBackend, Service, Task, ecs_backends
from moto.elbv2.models import FakeHealthStatus, FakeTargetGroup
from moto.moto_api import state_manager

from snailtrail.sandbox import moto_strict
from snailtrail.sandbox.moto_network import elbv2
from snailtrail.sandbox.runtime import ContainerState

# moto's backends are plain dicts and lists shared with the request threads of the server.
LOCK = threading.RLock()
_HEALTH_KEY = "snailtrail_health"
_patched = False


def enable_agent_mode() -> None:
    """Tasks keep the status the reconciler gives them; targets report the health it measured; and
    the control plane refuses what ECS refuses (``moto_strict.enable_strict_mode``)."""
    global _patched
    state_manager.set_transition(model_name="ecs::task", transition={"progression": "manual", "times": 10**12})
    moto_strict.enable_strict_mode()
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
    _patch_standalone_tasks()
    for name in ("list_tasks", "describe_tasks"):
        setattr(
            EC2ContainerServiceBackend, name, _tolerate_concurrent_inserts(getattr(EC2ContainerServiceBackend, name))
        )
    _patched = True


def _patch_standalone_tasks() -> None:
    """RunTask and StopTask as ECS answers them, for the agent (sandbox/standalone.py) to act on.

    RunTask answers with tasks PROVISIONING whose containers (every one of the revision's) are PENDING and
    have no exit code yet (moto describes the first container only, RUNNING, its exit code 0). StopTask asks
    the agent to stop a task: ``desiredStatus`` STOPPED, the request's reason as ``stoppedReason`` and
    ``stopCode`` UserInitiated at once, ``lastStatus`` STOPPED only once its containers stopped (API
    reference, StopTask: "the equivalent of docker stop is issued to the containers"); moto marks it STOPPED
    at once and its containers would run on. A service's task keeps moto's own StopTask: the reconciler
    stops those.
    """
    original_run = EC2ContainerServiceBackend.run_task
    original_stop = EC2ContainerServiceBackend.stop_task

    @functools.wraps(original_run)
    def run_task(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> list[Task]:
        with LOCK:
            tasks = original_run(self, *args, **kwargs)
            for task in tasks:
                task.last_status = "PROVISIONING"
                task.created_at = now()
                # One entry per container of the revision, each PENDING (moto describes the first only).
                definition = self.describe_task_definition(task.task_definition_arn)
                task.containers = [_container(definition, spec) for spec in definition.container_definitions]
        return tasks

    @functools.wraps(original_stop)
    def stop_task(self: EC2ContainerServiceBackend, cluster_str: str, task_str: str, reason: str) -> Task:
        with LOCK:
            cluster = self._get_cluster(cluster_str)
            ident = task_str.rsplit("/", 1)[-1]
            task = next((t for arn, t in self.tasks.get(cluster.name, {}).items() if arn.endswith(ident)), None)
            if task is None or task.group.startswith("service:"):
                return original_stop(self, cluster_str, task_str, reason)
            if task.last_status != "STOPPED" and task.desired_status != "STOPPED":
                task.desired_status = "STOPPED"
                task.stopped_reason = reason
                task.stop_code = "UserInitiated"
                task.stopping_at = now()
            return task

    EC2ContainerServiceBackend.run_task = run_task  # type: ignore[method-assign]
    EC2ContainerServiceBackend.stop_task = stop_task  # type: ignore[method-assign]


def standalone_tasks(region: str) -> list[Task]:
    """Tasks RunTask started (not a service's), not yet STOPPED."""
    return [
        task
        for tasks in list(ecs(region).tasks.values())
        for task in list(tasks.values())
        if not task.group.startswith("service:") and task.last_status != "STOPPED"
    ]


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
    # moto describes the first container only; ECS describes each of the task's containers.
    task.containers = [_container(definition, spec) for spec in definition.container_definitions]
    task.created_at = now()
    backend.tasks.setdefault(cluster.name, {})[task.task_arn] = task
    return task


def _container(definition: Any, spec: dict[str, Any]) -> Container:
    container = Container(definition)
    container.name, container.image = spec["name"], spec.get("image")
    container.memory, container.cpu = spec.get("memory"), spec.get("cpu", 0)
    container.environment, container.command = spec.get("environment"), spec.get("command")
    container.last_status, container.health_status = "PENDING", "UNKNOWN"
    container.exitCode = None  # until it exits (moto says 0 from the start)
    return container


def set_containers(task: Task, states: dict[str, ContainerState]) -> None:
    """Each container's status as DescribeTasks gives it: lastStatus, exitCode, reason, healthStatus."""
    for container in task.containers:
        state = states.get(container.name)
        if state is None or container.last_status == "STOPPED":
            continue
        container.last_status = "RUNNING" if state.running else "STOPPED"
        container.health_status = {"healthy": "HEALTHY", "unhealthy": "UNHEALTHY"}.get(state.health or "", "UNKNOWN")
        if not state.running:
            container.exitCode = state.exit_code
            if state.reason and state.exit_code != 0:  # a container that did its work and exited has no reason
                container.reason = state.reason


def task_ip(task: Task) -> str:
    from snailtrail.checks.criteria import task_ips

    addresses = task_ips({"attachments": task.attachments})
    if not addresses:
        raise ValueError(f"task {task.task_arn} has no ENI address")
    return addresses[0]


def mark_pending(task: Task) -> None:
    """Its container is being started (a standalone task: the agent has picked it up)."""
    task.last_status = "PENDING"


def mark_running(task: Task) -> None:
    task.last_status = "RUNNING"
    task.started_at = now()
    if len(task.containers) == 1:  # a task of several has each container's status from set_containers
        task.containers[0].last_status = "RUNNING"


def mark_stopped(
    task: Task, reason: str, exit_code: int | None, container_reason: str | None = None, stop_code: str | None = None
) -> None:
    task.last_status = "STOPPED"
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    if stop_code is not None:
        task.stop_code = stop_code
    task.stopped_at = now()
    if len(task.containers) > 1:  # each container's exit was recorded by set_containers; the others stop now
        for container in task.containers:
            container.last_status = "STOPPED"
        return
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


def _logs(region: str, account: str = DEFAULT_ACCOUNT_ID) -> Any:
    from moto.logs.models import logs_backends

    return logs_backends[account][region]


def log_group_exists(region: str, group: str) -> bool:
    return group in _logs(region).groups


def create_log_group(region: str, group: str) -> None:
    """The awslogs driver's ``awslogs-create-group``; its caller has found the group missing."""
    _logs(region).create_log_group(group, {})


def create_log_stream(region: str, group: str, stream: str) -> None:
    _logs(region).ensure_log_stream(group, stream)


def put_log_events(region: str, group: str, stream: str, lines: list[tuple[int, str]]) -> None:
    events = [{"timestamp": at, "message": message} for at, message in sorted(lines, key=lambda line: line[0])]
    _logs(region).put_log_events(group, stream, events)
