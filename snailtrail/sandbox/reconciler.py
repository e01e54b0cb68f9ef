"""The ECS agent moto lacks: turns each service's wanted state into running tasks.

Rolling replacement as ECS does it with minimumHealthyPercent 100 / maximumPercent 200: start the
new deployment's tasks, register them in the service's target groups, health-check them with the
target group's own settings, and only when enough are healthy stop the old deployment's tasks.
Crashed tasks and tasks failing health checks are stopped with ECS's reasons and replaced; the
deployment circuit breaker fails the rollout after a number of failed tasks. Replaced tasks drain for
their target group's deregistration delay before they stop. What the VPC allows (network.py) decides
whether a task can pull its image and whether the load balancer's health checks and requests reach it;
the awslogs driver ships each task's output to CloudWatch Logs.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from moto.ecs.models import Service

from snailtrail.checks.criteria import fetch
from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox import moto_deployments, moto_network
from snailtrail.sandbox.awslogs import LogStream, open_stream
from snailtrail.sandbox.native_deployments import ServiceDeployment
from snailtrail.sandbox.native_driving import NativeWorld, drive
from snailtrail.sandbox.network import NetworkState, NetworkView, Route, pull_error
from snailtrail.sandbox.runtime import TaskRuntime
from snailtrail.sandbox.standalone import StandaloneTasks
from snailtrail.sandbox.task_launch import TaskLauncher, task_containers
from snailtrail.sandbox.tracked_task import TrackedTask

log = logging.getLogger(__name__)
CIRCUIT_BREAKER_THRESHOLD = 3
DELAY_ATTRIBUTE = "deregistration_delay.timeout_seconds"  # 300 unless set (ELB docs, target group attributes)


class Reconciler:
    def __init__(
        self, region: str, runtime: TaskRuntime, health_interval_s: float | None = None, minute_s: float = 1.0
    ) -> None:
        self.region = region
        self.minute_s = minute_s  # the sandbox minute of bakes and hook timeouts (docs/sandbox.md)
        self.runtime = runtime
        self.launcher = TaskLauncher(runtime)  # a task's containers in ECS's order, on the runtime
        self.health_interval_s = health_interval_s  # None: each target group's own interval
        self.clock = time.monotonic  # the deregistration delay's clock
        self.network = NetworkView(NetworkState({}, {}, [], {}, {}))  # refreshed once a pass
        self._tasks: dict[str, TrackedTask] = {}
        self._by_ip: dict[str, TrackedTask] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.standalone = StandaloneTasks(region, runtime)  # the tasks RunTask started
        bridge.enable_agent_mode()

    # -- lifecycle ------------------------------------------------------------------------------
    def start(self, interval_s: float = 0.1) -> None:
        self._thread = threading.Thread(target=self._loop, args=(interval_s,), name="reconciler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for tracked in list(self._tasks.values()):
            self.launcher.stop(tracked.handle)
        self._tasks.clear()
        self.standalone.stop_all()

    def _loop(self, interval_s: float) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                log.exception("reconciler pass failed")
            self._stop.wait(interval_s)

    # -- one pass -------------------------------------------------------------------------------
    def tick(self) -> None:
        with bridge.LOCK:
            self.network = NetworkView(moto_network.network_state(self.region))
            for service in bridge.services(self.region):
                self._reconcile(service)
            self.standalone.tick(self.network)

    def route(self, balancer: str, ip: str, port: int) -> Route:
        """How the load balancer's request to target ip:port fares: the front door's view of the VPC."""
        tracked = self._by_ip.get(ip)
        if tracked is None:
            return Route(None, f"no task has address {ip}")
        blocked = self.network.blocked(balancer, tracked.groups, tracked.subnet, port)
        return Route(tracked.ports.get(port), blocked)

    def _reconcile(self, service: Service) -> None:
        mine = [
            t
            for t in self._tasks.values()
            if t.task.group == f"service:{service.name}" and t.task.cluster_name == service.cluster_name
        ]
        for tracked in mine:
            if tracked.draining_until is not None and tracked.task.last_status != "STOPPED":
                self._ship_logs(tracked)
                if self.clock() >= tracked.draining_until:
                    self._stop_task(service, tracked, tracked.stop_reason, 0, drain=False)
        if service.status != "ACTIVE":
            for tracked in mine:
                if tracked.draining_until is None and tracked.task.last_status != "STOPPED":
                    self._stop_task(service, tracked, "Service deleted", exit_code=0)
            return
        primary = bridge.primary_deployment(service)
        native = moto_deployments.current(service)
        native = native if native is not None and native.native else None
        self._observe(service, primary, mine, native)
        live = [t for t in mine if t.task.last_status != "STOPPED"]
        wanted = [t for t in live if t.deployment_id == primary["id"] and t.draining_until is None]
        if primary["rolloutState"] != "FAILED" and (native is None or NativeWorld.scaling(native)):
            for _ in range(max(0, service.desired_count - len(wanted))):
                live.append(self._start_task(service, primary))
        if native is not None:
            drive(self, service, primary, native, live)
        else:
            self._finish_rollout(service, primary, live)
            moto_deployments.follow_rolling(service, primary)
        self._count(service, live)

    def _start_task(self, service: Service, deployment: dict[str, Any]) -> TrackedTask:
        task = bridge.new_task(self.region, service, deployment["taskDefinition"], deployment["id"])
        containers = task_containers(bridge.ecs(self.region).describe_task_definition(deployment["taskDefinition"]))
        awsvpc = (deployment.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
        subnet = (awsvpc.get("subnets") or [""])[0]  # where moto placed the task's ENI
        tracked = TrackedTask(task, "", deployment["id"], bridge.task_ip(task), time.monotonic())
        tracked.subnet, tracked.groups = subnet, list(awsvpc.get("securityGroups") or [])
        pull_blocked = self.network.pull_blocked(subnet, awsvpc.get("assignPublicIp") == "ENABLED")
        # Each container logs to its own stream (awslogs names them prefix/container/task).
        streams = {c["name"]: open_stream(self.region, c, task.id) for c in containers} if not pull_blocked else {}
        refused = next((reason for reason in streams.values() if isinstance(reason, str)), None)
        if pull_blocked:
            tracked.failure = pull_error(containers[0]["image"], pull_blocked)
        elif refused is not None:
            tracked.failure = refused
        else:
            tracked.logs = {name: stream for name, stream in streams.items() if isinstance(stream, LogStream)}
            tracked.handle = self.launcher.start(task.id, containers)
        self._tasks[task.task_arn] = tracked
        self._by_ip[tracked.ip] = tracked
        bridge.add_event(service, f"has started 1 tasks: (task {task.id}).")
        return tracked

    def _observe(
        self, service: Service, primary: dict[str, Any], mine: list[TrackedTask], native: ServiceDeployment | None
    ) -> None:
        for tracked in mine:
            if tracked.task.last_status == "STOPPED":
                continue
            if tracked.draining_until is not None:
                continue
            if tracked.failure is not None:
                self._stop_task(service, tracked, tracked.failure, None, tracked.failure, failed=True)
                continue
            state = self.launcher.state(tracked.handle)
            bridge.set_containers(tracked.task, self.launcher.container_states(tracked.handle))
            self._ship_logs(tracked)
            if state.pending:
                continue
            if not state.running:
                self._stop_task(
                    service, tracked, "Essential container in task exited", state.exit_code, state.reason, failed=True
                )
                continue
            if tracked.task.last_status != "RUNNING":
                bridge.mark_running(tracked.task)
            tracked.ports = state.ports
            self._register(service, tracked, native)
            self._health_check(service, tracked)
        if primary["failedTasks"] >= CIRCUIT_BREAKER_THRESHOLD and primary["rolloutState"] == "IN_PROGRESS":
            self._trip_circuit_breaker(service, primary, native)

    def _register(self, service: Service, tracked: TrackedTask, native: ServiceDeployment | None) -> None:
        """In the service's target group or, in a native deployment, in the group its revision goes to."""
        if tracked.registered:
            return
        for balancer in service.load_balancers:
            arn, port = (
                NativeWorld.group_for(service, balancer, tracked.deployment_id, native),
                int(balancer["containerPort"]),
            )
            bridge.register_target(self.region, arn, tracked.ip, port)
            tracked.registered.append((arn, port))

    def _ship_logs(self, tracked: TrackedTask) -> None:
        if not tracked.handle:
            return
        for name, lines in self.launcher.logs(tracked.handle).items():
            if name in tracked.logs:  # only awslogs ships; other drivers keep the output in the runtime
                tracked.logs[name].ship(lines)

    def _health_check(self, service: Service, tracked: TrackedTask) -> None:
        """As the target group checks: path, interval, thresholds, matcher; then ECS acts on it."""
        if not tracked.registered:
            tracked.healthy = True  # no load balancer: running is all ECS asks
            return
        arn, port = tracked.registered[0]
        group = bridge.target_group(self.region, arn)
        if group is None:
            return
        if not self.network.in_use(arn):
            # An ALB checks only the target groups its listeners use (TargetHealth: Target.NotInUse).
            tracked.healthy, tracked.healthy_streak = False, 0
            bridge.set_target_health(
                self.region,
                arn,
                tracked.ip,
                "unused",
                "Target.NotInUse",
                "Target group is not configured to receive traffic from the load balancer",
            )
            return
        interval = self.health_interval_s or float(group.health_check_interval_seconds)
        now = time.monotonic()
        if now - tracked.last_check < interval:
            return
        tracked.last_check = now
        matcher = (group.matcher or {}).get("HttpCode", "200")
        balancers = self.network.balancers_using(arn)
        blocked = [self.network.blocked(name, tracked.groups, tracked.subnet, port) for name in balancers]
        timed_out = all(blocked)  # no load balancer using the group gets through the security groups
        address = tracked.ports.get(port)
        answer = (
            fetch(
                f"http://{address[0]}:{address[1]}{group.health_check_path}",
                timeout=float(group.health_check_timeout_seconds),
            )
            if address and not timed_out
            else None
        )
        ok = answer is not None and answer.status is not None and _matches(answer.status, matcher)
        if ok:
            tracked.healthy_streak, tracked.unhealthy_streak = tracked.healthy_streak + 1, 0
            if tracked.healthy_streak >= int(group.healthy_threshold_count):
                tracked.healthy = True
                for target_arn, _port in tracked.registered:
                    bridge.set_target_health(self.region, target_arn, tracked.ip, "healthy")
            return
        tracked.unhealthy_streak, tracked.healthy_streak = tracked.unhealthy_streak + 1, 0
        if tracked.unhealthy_streak >= int(group.unhealthy_threshold_count):
            tracked.healthy = False
            # The reason codes and descriptions describe_target_health gives on AWS (API reference, TargetHealth).
            if timed_out:
                code, description = "Target.Timeout", "Request timed out"
            elif answer and answer.status:
                code, description = (
                    "Target.ResponseCodeMismatch",
                    f"Health checks failed with these codes: [{answer.status}]",
                )
            else:
                code, description = "Target.FailedHealthChecks", "Health checks failed"
            for target_arn, _port in tracked.registered:
                bridge.set_target_health(self.region, target_arn, tracked.ip, "unhealthy", code, description)
            grace = float(getattr(service, "health_check_grace_period_seconds", 0) or 0)
            if now - tracked.started >= grace:
                # The event ECS writes before it replaces the task (the reason is the target's description).
                bridge.add_event(
                    service,
                    f"(task {tracked.task.id}) (port {port}) is unhealthy in (target-group {arn}) "
                    f"due to (reason {description}).",
                )
                self._stop_task(
                    service, tracked, f"Task failed ELB health checks in (target-group {arn})", None, None, failed=True
                )

    def _trip_circuit_breaker(
        self, service: Service, primary: dict[str, Any], native: ServiceDeployment | None
    ) -> None:
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        bridge.add_event(service, f"deployment {primary['id']} deployment failed: tasks failed to start.")
        breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
        if native is not None:
            native.breaker_failures = primary["failedTasks"]
            if breaker.get("rollback"):
                moto_deployments.request_rollback(native, "ECS deployment circuit breaker: tasks failed to start.")
            else:
                moto_deployments.stop(native, "ECS deployment circuit breaker: tasks failed to start.")
            return
        previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
        if breaker.get("rollback") and previous is not None:
            service.task_definition = previous["taskDefinition"]
            bridge.add_event(service, f"rolling back to deployment {previous['id']}.")

    def _finish_rollout(self, service: Service, primary: dict[str, Any], live: list[TrackedTask]) -> None:
        ready = [t for t in live if t.deployment_id == primary["id"] and t.task.last_status == "RUNNING" and t.healthy]
        if len(ready) < service.desired_count or primary["rolloutState"] == "FAILED":
            return
        reason = f"Scaling activity initiated by (deployment {primary['id']})"
        for tracked in [t for t in live if t.deployment_id != primary["id"]] + ready[service.desired_count :]:
            if tracked.draining_until is None:
                self._stop_task(service, tracked, reason, 0)
        if any(t.task.last_status != "STOPPED" and t.draining_until is not None for t in live):
            return  # the deployment completes when the replaced tasks have drained and stopped
        had_others = len(service.deployments) > 1
        service.deployments[:] = [primary]
        if primary["rolloutState"] != "COMPLETED":
            primary["rolloutState"] = "COMPLETED"
            primary["rolloutStateReason"] = f"ECS deployment {primary['id']} completed."
            primary["updatedAt"] = bridge.now()
            bridge.add_event(service, f"deployment {primary['id']} deployment completed.")
            bridge.add_event(service, "has reached a steady state.")
        elif had_others:
            bridge.add_event(service, "has reached a steady state.")

    def _stop_task(
        self,
        service: Service,
        tracked: TrackedTask,
        reason: str,
        exit_code: int | None,
        container_reason: str | None = None,
        failed: bool = False,
        drain: bool = True,
    ) -> None:
        if drain and not failed and tracked.registered and tracked.task.last_status == "RUNNING":
            self._drain(tracked, reason)
            return
        for arn, _port in tracked.registered:
            bridge.deregister_target(self.region, arn, tracked.ip)
        tracked.registered.clear()
        self._by_ip.pop(tracked.ip, None)
        if tracked.handle:
            self._ship_logs(tracked)
            self.launcher.stop(tracked.handle)
        bridge.mark_stopped(tracked.task, reason, exit_code, container_reason)
        if failed:
            for deployment in service.deployments:
                if deployment["id"] == tracked.deployment_id:
                    deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1
        bridge.add_event(service, f"has stopped 1 running tasks: (task {tracked.task.id}). {reason}")
        del self._tasks[tracked.task.task_arn]

    def _drain(self, tracked: TrackedTask, reason: str) -> None:
        """As ECS deregisters a task it replaces: no new requests, in-flight ones finish, then it stops
        after the target group's deregistration_delay.timeout_seconds (ELB docs, "Deregistration delay")."""
        groups = [bridge.target_group(self.region, arn) for arn, _port in tracked.registered]
        delay = max((float(g.attributes.get(DELAY_ATTRIBUTE, 300)) for g in groups if g is not None), default=0.0)
        for arn, _port in tracked.registered:
            bridge.set_target_health(
                self.region,
                arn,
                tracked.ip,
                "draining",
                "Target.DeregistrationInProgress",
                "Target deregistration is in progress",
            )
        tracked.healthy = False
        tracked.stop_reason = reason
        tracked.draining_until = self.clock() + delay
        tracked.task.last_status = "DEACTIVATING"
        tracked.task.desired_status = "STOPPED"

    def _count(self, service: Service, live: list[TrackedTask]) -> None:
        live = [t for t in live if t.task.last_status != "STOPPED"]  # stopped during this pass
        starting = ("PROVISIONING", "PENDING")  # draining (DEACTIVATING) tasks are neither running nor pending
        service.running_count = sum(1 for t in live if t.task.last_status == "RUNNING")
        service.pending_count = sum(1 for t in live if t.task.last_status in starting)
        for deployment in service.deployments:
            mine = [t for t in live if t.deployment_id == deployment["id"]]
            deployment["runningCount"] = sum(1 for t in mine if t.task.last_status == "RUNNING")
            deployment["pendingCount"] = sum(1 for t in mine if t.task.last_status in starting)


def _matches(status: int, matcher: str) -> bool:
    """An ELB matcher: '200', '200,302' or '200-299'."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if (int(low) <= status <= int(high or low)) if low.isdigit() else False:
            return True
    return False
