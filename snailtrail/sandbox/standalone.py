"""Standalone tasks (RunTask) as ECS's agent runs them: started, their output shipped, stopped when they end.

A task RunTask started belongs to no service: nothing replaces it and no load balancer checks it. It runs
until its essential container exits (stoppedReason "Essential container in task exited", stopCode
EssentialContainerExited, the container's exitCode) or StopTask asks it to stop (the request's reason,
stopCode UserInitiated; moto_bridge records both). A task that cannot start (no route to its registry,
its awslogs group missing, the engine refusing the image) stops with ECS's reason, stopCode
TaskFailedToStart and no exit code. API reference, DescribeTasks (Task: stopCode, stoppedReason;
Container: exitCode) and the developer guide, "Amazon ECS stopped tasks errors".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.ecs.models import Task

from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox.awslogs import LogStream, open_stream
from snailtrail.sandbox.network import NetworkView, pull_error
from snailtrail.sandbox.runtime import TaskRuntime

ESSENTIAL_EXITED = "Essential container in task exited"


@dataclass
class RunningTask:
    task: Task
    handle: str = ""
    logs: LogStream | None = None
    failure: str | None = None  # why it could not start


def overridden(container: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """The container entry with RunTask's containerOverrides for it: command replaced, environment merged."""
    override = next((o for o in overrides.get("containerOverrides") or [] if o.get("name") == container["name"]), {})
    result = dict(container)
    if override.get("command"):
        result["command"] = list(override["command"])
    if override.get("environment"):
        merged = {e["name"]: e["value"] for e in container.get("environment") or []}
        merged |= {e["name"]: e["value"] for e in override["environment"]}
        result["environment"] = [{"name": k, "value": v} for k, v in merged.items()]
    return result


class StandaloneTasks:
    """The agent's work for the tasks RunTask started; the reconciler runs a pass of it in each of its own."""

    def __init__(self, region: str, runtime: TaskRuntime) -> None:
        self.region = region
        self.runtime = runtime
        self._running: dict[str, RunningTask] = {}

    def tick(self, network: NetworkView) -> None:
        for task in bridge.standalone_tasks(self.region):
            tracked = self._running.get(task.task_arn)
            if tracked is None:
                tracked = self._running[task.task_arn] = self._start(task, network)
            self._observe(tracked)

    def stop_all(self) -> None:
        for tracked in self._running.values():
            if tracked.handle:
                self.runtime.stop(tracked.handle)
        self._running.clear()

    def _start(self, task: Task, network: NetworkView) -> RunningTask:
        definition = bridge.ecs(self.region).describe_task_definition(task.task_definition_arn)
        # The task-level cpu applies to the container when the container names none, as on Fargate.
        container = overridden({"cpu": definition.cpu} | definition.container_definitions[0], task.overrides)
        awsvpc = (task.network_configuration or {}).get("awsvpcConfiguration") or {}
        subnet = (awsvpc.get("subnets") or [""])[0]
        tracked = RunningTask(task)
        blocked = network.pull_blocked(subnet, awsvpc.get("assignPublicIp") == "ENABLED")
        if blocked:
            tracked.failure = pull_error(container["image"], blocked)
            return tracked
        logs = open_stream(self.region, container, task.id)
        if isinstance(logs, str):
            tracked.failure = logs
            return tracked
        tracked.logs = logs
        tracked.handle = self.runtime.start(task.id, container)
        bridge.mark_pending(task)
        return tracked

    def _observe(self, tracked: RunningTask) -> None:
        task = tracked.task
        if tracked.failure is not None:
            self._stopped(tracked, tracked.failure, None, tracked.failure, "TaskFailedToStart")
            return
        if task.desired_status == "STOPPED":  # StopTask: the container is stopped, as docker stop does
            self._ship(tracked)
            self._stopped(tracked, task.stopped_reason, None, None, None)
            return
        state = self.runtime.state(tracked.handle)
        self._ship(tracked)
        if state.running:
            if task.last_status != "RUNNING":
                bridge.mark_running(task)
        elif state.exit_code is None:  # the engine could not start it (CannotPullContainerError, ...)
            reason = state.reason or "CannotStartContainerError"
            self._stopped(tracked, reason, None, reason, "TaskFailedToStart")
        else:
            self._stopped(tracked, ESSENTIAL_EXITED, state.exit_code, state.reason, "EssentialContainerExited")

    def _ship(self, tracked: RunningTask) -> None:
        if tracked.logs is not None:
            tracked.logs.ship(self.runtime.logs(tracked.handle))

    def _stopped(
        self, tracked: RunningTask, reason: str, exit_code: int | None, container_reason: str | None, code: str | None
    ) -> None:
        """Its container removed and the task STOPPED, its last output shipped first."""
        if tracked.handle:
            self._ship(tracked)
            self.runtime.stop(tracked.handle)
        bridge.mark_stopped(tracked.task, reason, exit_code, container_reason, code)
        del self._running[tracked.task.task_arn]
