"""The ECS agent moto lacks: turns each service's wanted state into running tasks.

Rolling replacement as ECS does it with minimumHealthyPercent 100 / maximumPercent 200: start the
new deployment's tasks, register them in the service's target groups, health-check them with the
target group's own settings, and only when enough are healthy stop the old deployment's tasks.
Crashed tasks and tasks failing health checks are stopped with ECS's reasons and replaced; the
deployment circuit breaker fails the rollout after a number of failed tasks.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from moto.ecs.models import Service, Task

from snailtrail.checks.criteria import fetch
from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox.runtime import TaskRuntime

log = logging.getLogger(__name__)
CIRCUIT_BREAKER_THRESHOLD = 3


@dataclass
class TrackedTask:
    task: Task
    handle: str
    deployment_id: str
    ip: str
    started: float
    healthy_streak: int = 0
    unhealthy_streak: int = 0
    last_check: float = 0.0
    healthy: bool = False
    registered: list[tuple[str, int]] = field(default_factory=list)


class Reconciler:
    def __init__(self, region: str, runtime: TaskRuntime, health_interval_s: float | None = None) -> None:
        self.region = region
        self.runtime = runtime
        self.health_interval_s = health_interval_s  # None: each target group's own interval
        self.addresses: dict[str, tuple[str, int]] = {}  # task ip -> where its container port answers
        self._tasks: dict[str, TrackedTask] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
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
            self.runtime.stop(tracked.handle)
        self._tasks.clear()

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
            for service in bridge.services(self.region):
                self._reconcile(service)

    def _reconcile(self, service: Service) -> None:
        mine = [
            t
            for t in self._tasks.values()
            if t.task.group == f"service:{service.name}" and t.task.cluster_name == service.cluster_name
        ]
        if service.status != "ACTIVE":
            for tracked in mine:
                self._stop_task(service, tracked, "Service deleted", exit_code=0)
            return
        primary = bridge.primary_deployment(service)
        self._observe(service, primary, mine)
        live = [t for t in mine if t.task.last_status != "STOPPED"]
        wanted = [t for t in live if t.deployment_id == primary["id"]]
        if primary["rolloutState"] != "FAILED":
            for _ in range(max(0, service.desired_count - len(wanted))):
                live.append(self._start_task(service, primary))
        self._finish_rollout(service, primary, live)
        self._count(service, live)

    def _start_task(self, service: Service, deployment: dict[str, Any]) -> TrackedTask:
        task = bridge.new_task(self.region, service, deployment["taskDefinition"], deployment["id"])
        definition = bridge.ecs(self.region).describe_task_definition(deployment["taskDefinition"])
        # The task-level cpu applies to the container when the container names none, as on Fargate.
        container = {"cpu": definition.cpu} | definition.container_definitions[0]
        handle = self.runtime.start(task.id, container)
        tracked = TrackedTask(task, handle, deployment["id"], bridge.task_ip(task), time.monotonic())
        self._tasks[task.task_arn] = tracked
        bridge.add_event(service, f"has started 1 tasks: (task {task.id}).")
        return tracked

    def _observe(self, service: Service, primary: dict[str, Any], mine: list[TrackedTask]) -> None:
        for tracked in mine:
            if tracked.task.last_status == "STOPPED":
                continue
            state = self.runtime.state(tracked.handle)
            if not state.running:
                self._stop_task(
                    service, tracked, "Essential container in task exited", state.exit_code, state.reason, failed=True
                )
                continue
            if tracked.task.last_status != "RUNNING":
                bridge.mark_running(tracked.task)
            if state.address is not None:
                self.addresses[tracked.ip] = state.address
            self._register(service, tracked)
            self._health_check(service, tracked, state.address)
        if primary["failedTasks"] >= CIRCUIT_BREAKER_THRESHOLD and primary["rolloutState"] == "IN_PROGRESS":
            self._trip_circuit_breaker(service, primary)

    def _register(self, service: Service, tracked: TrackedTask) -> None:
        if tracked.registered:
            return
        for balancer in service.load_balancers:
            arn, port = balancer["targetGroupArn"], int(balancer["containerPort"])
            bridge.register_target(self.region, arn, tracked.ip, port)
            tracked.registered.append((arn, port))

    def _health_check(self, service: Service, tracked: TrackedTask, address: tuple[str, int] | None) -> None:
        """As the target group checks: path, interval, thresholds, matcher; then ECS acts on it."""
        if not tracked.registered:
            tracked.healthy = True  # no load balancer: running is all ECS asks
            return
        arn, _ = tracked.registered[0]
        group = bridge.target_group(self.region, arn)
        if group is None:
            return
        interval = self.health_interval_s or float(group.health_check_interval_seconds)
        now = time.monotonic()
        if now - tracked.last_check < interval:
            return
        tracked.last_check = now
        matcher = (group.matcher or {}).get("HttpCode", "200")
        answer = (
            fetch(
                f"http://{address[0]}:{address[1]}{group.health_check_path}",
                timeout=float(group.health_check_timeout_seconds),
            )
            if address
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
        why = f"status {answer.status}" if answer and answer.status else "connection refused or timed out"
        if tracked.unhealthy_streak >= int(group.unhealthy_threshold_count):
            tracked.healthy = False
            code = "Target.ResponseCodeMismatch" if answer and answer.status else "Target.FailedHealthChecks"
            for target_arn, _port in tracked.registered:
                bridge.set_target_health(
                    self.region, target_arn, tracked.ip, "unhealthy", code, f"Health checks failed ({why})"
                )
            grace = float(getattr(service, "health_check_grace_period_seconds", 0) or 0)
            if now - tracked.started >= grace:
                self._stop_task(
                    service, tracked, f"Task failed ELB health checks in (target-group {arn})", None, None, failed=True
                )

    def _trip_circuit_breaker(self, service: Service, primary: dict[str, Any]) -> None:
        primary["rolloutState"] = "FAILED"
        primary["rolloutStateReason"] = "ECS deployment circuit breaker: tasks failed to start."
        bridge.add_event(service, f"deployment {primary['id']} deployment failed: tasks failed to start.")
        breaker = (getattr(service, "deployment_configuration", None) or {}).get("deploymentCircuitBreaker") or {}
        previous = next((d for d in service.deployments if d["status"] == "ACTIVE"), None)
        if breaker.get("rollback") and previous is not None:
            service.task_definition = previous["taskDefinition"]
            bridge.add_event(service, f"rolling back to deployment {previous['id']}.")

    def _finish_rollout(self, service: Service, primary: dict[str, Any], live: list[TrackedTask]) -> None:
        ready = [t for t in live if t.deployment_id == primary["id"] and t.task.last_status == "RUNNING" and t.healthy]
        if len(ready) < service.desired_count or primary["rolloutState"] == "FAILED":
            return
        for tracked in live:
            if tracked.deployment_id != primary["id"]:
                self._stop_task(service, tracked, f"Scaling activity initiated by (deployment {primary['id']})", 0)
        for tracked in ready[service.desired_count :]:
            self._stop_task(service, tracked, f"Scaling activity initiated by (deployment {primary['id']})", 0)
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
    ) -> None:
        for arn, _port in tracked.registered:
            bridge.deregister_target(self.region, arn, tracked.ip)
        tracked.registered.clear()
        self.addresses.pop(tracked.ip, None)
        self.runtime.stop(tracked.handle)
        bridge.mark_stopped(tracked.task, reason, exit_code, container_reason)
        if failed:
            for deployment in service.deployments:
                if deployment["id"] == tracked.deployment_id:
                    deployment["failedTasks"] = deployment.get("failedTasks", 0) + 1
        bridge.add_event(service, f"has stopped 1 running tasks: (task {tracked.task.id}). {reason}")
        del self._tasks[tracked.task.task_arn]

    def _count(self, service: Service, live: list[TrackedTask]) -> None:
        live = [t for t in live if t.task.last_status != "STOPPED"]  # stopped during this pass
        running = [t for t in live if t.task.last_status == "RUNNING"]
        service.running_count = len(running)
        service.pending_count = len(live) - len(running)
        for deployment in service.deployments:
            mine = [t for t in live if t.deployment_id == deployment["id"]]
            deployment["runningCount"] = sum(1 for t in mine if t.task.last_status == "RUNNING")
            deployment["pendingCount"] = len(mine) - deployment["runningCount"]


def _matches(status: int, matcher: str) -> bool:
    """An ELB matcher: '200', '200,302' or '200-299'."""
    for part in matcher.split(","):
        low, _, high = part.strip().partition("-")
        if (int(low) <= status <= int(high or low)) if low.isdigit() else False:
            return True
    return False
