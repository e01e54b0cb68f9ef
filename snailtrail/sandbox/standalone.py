"""Standalone tasks (RunTask) as ECS's agent runs them: started, their output shipped, stopped when they end.

A task RunTask started belongs to no service: nothing replaces it and no load balancer checks it. Its
containers run as a service's do (task_launch.py): every one of them, sharing the task's network namespace,
in ``dependsOn`` order, each logging to its own awslogs stream, with RunTask's containerOverrides applied
to the containers they name. It runs until an essential container exits (stoppedReason "Essential
container in task exited", stopCode EssentialContainerExited, each container's exitCode) or StopTask asks
it to stop (the request's reason, stopCode UserInitiated; moto_bridge records both). A task that cannot
start (no route to its registry, an awslogs group missing, the engine refusing the image) stops with ECS's
reason, stopCode TaskFailedToStart and no exit code. API reference, RunTask (overrides), DescribeTasks
(Task: stopCode, stoppedReason, containers; Container: lastStatus, exitCode, reason) and the developer
guide, "Amazon ECS stopped tasks errors".
"""

from __future__ import annotations

from dataclasses import dataclass, field

from moto.ecs.models import Task

from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox.awslogs import LogStream, open_stream
from snailtrail.sandbox.network import NetworkView, pull_error
from snailtrail.sandbox.runtime import TaskRuntime
from snailtrail.sandbox.task_launch import ESSENTIAL_EXITED, TaskLauncher, task_containers


@dataclass
class RunningTask:
    task: Task
    handle: str = ""
    logs: dict[str, LogStream] = field(default_factory=dict)  # container name -> its awslogs stream
    failure: str | None = None  # why it could not start


class StandaloneTasks:
    """The agent's work for the tasks RunTask started; the reconciler runs a pass of it in each of its own."""

    def __init__(self, region: str, runtime: TaskRuntime) -> None:
        self.region = region
        self.launcher = TaskLauncher(runtime)  # every container, in dependsOn order, as a service's task
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
                self.launcher.stop(tracked.handle)
        self._running.clear()

    def _start(self, task: Task, network: NetworkView) -> RunningTask:
        definition = bridge.ecs(self.region).describe_task_definition(task.task_definition_arn)
        containers = task_containers(definition, task.overrides)
        awsvpc = (task.network_configuration or {}).get("awsvpcConfiguration") or {}
        subnet = (awsvpc.get("subnets") or [""])[0]
        tracked = RunningTask(task)
        blocked = network.pull_blocked(subnet, awsvpc.get("assignPublicIp") == "ENABLED")
        if blocked:
            tracked.failure = pull_error(containers[0]["image"], blocked)
            return tracked
        # Each container logs to its own stream (awslogs names them prefix/container/task).
        streams = {c["name"]: open_stream(self.region, c, task.id) for c in containers}
        refused = next((reason for reason in streams.values() if isinstance(reason, str)), None)
        if refused is not None:
            tracked.failure = refused
            return tracked
        tracked.logs = {name: stream for name, stream in streams.items() if isinstance(stream, LogStream)}
        tracked.handle = self.launcher.start(task.id, containers)
        bridge.mark_pending(task)
        return tracked

    def _observe(self, tracked: RunningTask) -> None:
        task = tracked.task
        if tracked.failure is not None:
            self._stopped(tracked, tracked.failure, None, tracked.failure, "TaskFailedToStart")
            return
        if task.desired_status == "STOPPED":  # StopTask: the containers are stopped, as docker stop does
            self._stopped(tracked, task.stopped_reason, None, None, None)
            return
        state = self.launcher.state(tracked.handle)
        bridge.set_containers(task, self.launcher.container_states(tracked.handle))
        self._ship(tracked)
        if state.pending:  # waiting for its dependencies (an init container, say)
            return
        if state.running:
            if task.last_status != "RUNNING":
                bridge.mark_running(task)
        elif state.exit_code is None:  # the engine could not start it (CannotPullContainerError, ...)
            reason = state.reason or "CannotStartContainerError"
            self._stopped(tracked, reason, None, reason, "TaskFailedToStart")
        else:
            self._stopped(tracked, ESSENTIAL_EXITED, state.exit_code, state.reason, "EssentialContainerExited")

    def _ship(self, tracked: RunningTask) -> None:
        if not tracked.handle:
            return
        for name, lines in self.launcher.logs(tracked.handle).items():
            if name in tracked.logs:  # only awslogs ships; other drivers keep the output in the runtime
                tracked.logs[name].ship(lines)

    def _stopped(
        self, tracked: RunningTask, reason: str, exit_code: int | None, container_reason: str | None, code: str | None
    ) -> None:
        """Its containers removed and the task STOPPED, their last output shipped first."""
        if tracked.handle:
            self._ship(tracked)
            self.launcher.stop(tracked.handle)
        bridge.mark_stopped(tracked.task, reason, exit_code, container_reason, code)
        del self._running[tracked.task.task_arn]
