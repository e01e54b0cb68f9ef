"""A task's containers run as ECS's agent runs them, on any TaskRuntime (the reconciler's and smoke's).

- One network namespace for a task of several containers (awsvpc gives the task one interface), so
  localhost reaches a sidecar; the task's ports are published once, on it.
- Containers start in ``dependsOn`` order, each when its conditions hold: START once the dependency
  started, COMPLETE once it exited, SUCCESS once it exited 0, HEALTHY once its container health check
  passed (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDependency.html).
- A dependency that can never hold (SUCCESS of a container that exited non-zero, HEALTHY of one that
  stopped) stops the waiting container with exit code 143 and ECS's CannotStartContainerError (the ECS
  agent's "terminal dependency error", amazon-ecs-agent pull request 3218).
- The task stops when an essential container exits ("Essential container in task exited"); a
  non-essential one may exit. The task runs once every essential container runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from snailtrail.plan import container_graph
from snailtrail.sandbox.runtime import ContainerState, TaskRuntime

ESSENTIAL_EXITED = "Essential container in task exited"
# What the ECS agent records for a container stopped because its dependency can never be met (PR 3218).
DEPENDENCY_EXIT_CODE = 143


@dataclass
class LaunchedTask:
    """One task's containers: their definitions in start order, handles once started, last states."""

    task_id: str
    definitions: dict[str, dict[str, Any]]
    order: list[str]
    namespace: str | None = None
    handles: dict[str, str] = field(default_factory=dict)
    states: dict[str, ContainerState] = field(default_factory=dict)


def dependency_failure(name: str, needed: str, condition: str, state: ContainerState) -> ContainerState:
    """The state of a container whose dependency can never hold, in the agent's words."""
    return ContainerState(
        False,
        DEPENDENCY_EXIT_CODE,
        f"CannotStartContainerError: dependency graph: failed to resolve container ordering dependency "
        f"[{needed} (exit {state.exit_code})] for target [{name}]: {condition} can no longer be met",
    )


def task_containers(definition: Any, overrides: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """A revision's containers as the agent starts them: the task-level cpu on a lone container that names
    none (as on Fargate), and RunTask's containerOverrides applied to the container each one names."""
    lone = len(definition.container_definitions) == 1
    containers = [({"cpu": definition.cpu} if lone else {}) | c for c in definition.container_definitions]
    return [overridden(c, overrides or {}) for c in containers]


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


class TaskLauncher:
    """Starts, observes and stops tasks of any number of containers on one runtime."""

    def __init__(self, runtime: TaskRuntime) -> None:
        self.runtime = runtime
        self._tasks: dict[str, LaunchedTask] = {}

    def start(self, task_id: str, containers: list[dict[str, Any]]) -> str:
        """Open the task's namespace (several containers) and start what depends on nothing; the handle is the id."""
        task = LaunchedTask(task_id, {c["name"]: c for c in containers}, container_graph.start_order(containers))
        if len(containers) > 1:
            ports = sorted({m["containerPort"] for c in containers for m in c.get("portMappings") or []})
            task.namespace = self.runtime.open_namespace(task_id, containers[0]["image"], ports)
        self._tasks[task_id] = task
        self._advance(task)
        return task_id

    def _condition(self, task: LaunchedTask, name: str, needed: str, condition: str) -> bool | ContainerState:
        """Whether ``needed`` is where ``name`` waits for it (True), not yet (False), or never will be (a state)."""
        state = task.states.get(needed)
        if state is None:
            return False
        done = not state.running
        if condition == "START":
            return True
        if condition == "COMPLETE":
            return done
        if condition == "SUCCESS":
            if done and state.exit_code != 0:
                return dependency_failure(name, needed, condition, state)
            return done
        if state.health == "healthy":  # HEALTHY
            return True
        return dependency_failure(name, needed, condition, state) if done or state.health == "unhealthy" else False

    def _advance(self, task: LaunchedTask) -> None:
        """Read every started container, then start each one whose dependencies now hold."""
        for name, handle in task.handles.items():
            if task.states.get(name) is None or task.states[name].running:
                task.states[name] = self.runtime.state(handle)
        namespace = self.runtime.state(task.namespace) if task.namespace else None
        if namespace is not None and not namespace.running:  # the namespace could not start: nothing can
            task.states.update({n: namespace for n in task.order if n not in task.states})
            return
        for name in task.order:
            if name in task.states or name in task.handles:
                continue
            verdicts = [
                self._condition(task, name, n, c) for n, c in container_graph.dependencies(task.definitions[name])
            ]
            failed = next((v for v in verdicts if isinstance(v, ContainerState)), None)
            if failed is not None:
                task.states[name] = failed
            elif all(verdicts):
                task.handles[name] = self.runtime.start(task.task_id, task.definitions[name], task.namespace)
                task.states[name] = self.runtime.state(task.handles[name])

    def state(self, handle: str) -> ContainerState:
        """The task as one state: stopped when an essential container exited (its exit code and reason), running
        once every essential container runs, its ports those of the namespace (or of its one container)."""
        task = self._tasks[handle]
        self._advance(task)
        essential = [n for n in task.order if container_graph.essential(task.definitions[n])]
        for name in essential:
            state = task.states.get(name)
            if state is not None and not state.running:
                reason = f"{name}: {state.reason}" if task.namespace else state.reason
                return ContainerState(False, state.exit_code, (reason or "")[:500] or None)
        if not all(task.states.get(n) is not None for n in essential):
            return ContainerState(False, pending=True)  # waiting for its dependencies, as a PENDING task does
        if task.namespace is not None:
            return ContainerState(True, ports=self.runtime.state(task.namespace).ports)
        return ContainerState(True, ports=task.states[task.order[0]].ports)

    def container_handle(self, handle: str, name: str) -> str | None:
        """The runtime's handle of one container of the task, once started."""
        return self._tasks[handle].handles.get(name)

    def container_states(self, handle: str) -> dict[str, ContainerState]:
        """Each started (or never startable) container's last state, by name."""
        return dict(self._tasks[handle].states)

    def logs(self, handle: str) -> dict[str, list[tuple[int, str]]]:
        """Each container's output since the last call, by container name."""
        task = self._tasks[handle]
        return {name: self.runtime.logs(h) for name, h in task.handles.items()}

    def stop(self, handle: str) -> None:
        """Every container in the reverse of their start order (ECS stops dependents first), then the namespace."""
        task = self._tasks.pop(handle, None)
        if task is None:
            return
        for name in reversed(task.order):
            if name in task.handles:
                self.runtime.stop(task.handles[name])
        if task.namespace is not None:
            self.runtime.stop(task.namespace)
