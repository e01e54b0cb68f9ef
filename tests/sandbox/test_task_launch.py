"""A task's containers started, watched and stopped as ECS's agent does, on the tests' in-memory runtime."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from snailtrail.sandbox.runtime import ContainerState
from snailtrail.sandbox.task_launch import DEPENDENCY_EXIT_CODE, TaskLauncher
from tests.in_memory_runtime import InMemoryRuntime

APP = {
    "name": "app",
    "image": "shine:1",
    "portMappings": [{"containerPort": 8000}],
    "environment": [{"name": "PORT", "value": "8000"}],
}


def sidecar(name: str, script: str, essential: bool = False, **extra: Any) -> dict[str, Any]:
    return {"name": name, "image": "tools:1", "essential": essential, "command": ["sh", "-c", script]} | extra


def depends(container: dict[str, Any], **conditions: str) -> dict[str, Any]:
    return container | {"dependsOn": [{"containerName": n, "condition": c} for n, c in conditions.items()]}


@pytest.fixture
def launcher() -> TaskLauncher:
    return TaskLauncher(InMemoryRuntime())


def until(launcher: TaskLauncher, handle: str, done: Callable[[ContainerState], bool]) -> ContainerState:
    """The task's state once ``done`` holds (the containers are real processes: a bounded wait, no timing asserted)."""
    for _ in range(500):
        state = launcher.state(handle)
        if done(state):
            return state
        time.sleep(0.02)
    raise AssertionError(f"never reached: last {state}")


def test_the_app_waits_for_its_init_container_to_succeed_then_the_task_runs_without_it(launcher: TaskLauncher) -> None:
    handle = launcher.start(
        uuid.uuid4().hex, [depends(APP, models="SUCCESS"), sidecar("models", "echo fetched; sleep 0.3")]
    )
    assert launcher.state(handle).pending  # the app is not started while its init container runs
    assert "app" not in launcher.container_states(handle)
    state = until(launcher, handle, lambda s: s.running)
    containers = launcher.container_states(handle)
    assert containers["models"].exit_code == 0 and not containers["models"].running  # a non-essential one may exit
    assert list(state.ports) == [8000]  # the task's ports, on its one namespace
    logs = launcher.logs(handle)
    assert [line for _, line in logs["models"]] == ["fetched"] and logs["app"]  # each container's own output
    launcher.stop(handle)


def test_an_init_container_that_fails_stops_the_task_with_the_agents_dependency_error(launcher: TaskLauncher) -> None:
    handle = launcher.start(uuid.uuid4().hex, [depends(APP, models="SUCCESS"), sidecar("models", "exit 4")])
    state = until(launcher, handle, lambda s: not s.running and not s.pending)
    assert state.exit_code == DEPENDENCY_EXIT_CODE
    assert state.reason.startswith(
        "app: CannotStartContainerError: dependency graph: failed to resolve container ordering"
    )
    assert "[models (exit 4)]" in state.reason


def test_complete_starts_the_app_whatever_the_exit_code(launcher: TaskLauncher) -> None:
    handle = launcher.start(uuid.uuid4().hex, [depends(APP, models="COMPLETE"), sidecar("models", "exit 4")])
    assert until(launcher, handle, lambda s: s.running or not s.pending).running


def test_an_essential_sidecar_that_exits_stops_the_task_with_its_exit_code(launcher: TaskLauncher) -> None:
    handle = launcher.start(uuid.uuid4().hex, [APP, sidecar("proxy", "sleep 0.2; echo bye; exit 3", essential=True)])
    assert until(launcher, handle, lambda s: s.running).running
    state = until(launcher, handle, lambda s: not s.running)
    assert (state.exit_code, state.reason) == (3, "proxy: Essential container exited: bye")


def test_a_non_essential_sidecar_that_exits_leaves_the_task_running(launcher: TaskLauncher) -> None:
    handle = launcher.start(uuid.uuid4().hex, [APP, sidecar("warmup", "exit 3")])
    until(launcher, handle, lambda s: launcher.container_states(handle).get("warmup", s).exit_code == 3)
    assert launcher.state(handle).running


@pytest.mark.parametrize("check, starts", [(["CMD", "true"], True), (["CMD-SHELL", "exit 1"], False)])
def test_healthy_waits_for_the_container_health_check(launcher: TaskLauncher, check: list[str], starts: bool) -> None:
    agent = sidecar("agent", "sleep 30", essential=True, healthCheck={"command": check, "retries": 2})
    handle = launcher.start(uuid.uuid4().hex, [depends(APP, agent="HEALTHY"), agent])
    state = until(launcher, handle, lambda s: not s.pending)
    assert state.running is starts
    if not starts:
        assert state.exit_code == DEPENDENCY_EXIT_CODE and "[agent" in state.reason
    launcher.stop(handle)


def test_start_order_follows_depends_on_not_the_listing(launcher: TaskLauncher) -> None:
    runtime = launcher.runtime
    assert isinstance(runtime, InMemoryRuntime)
    containers = [
        depends(APP, agent="START"),
        depends(sidecar("agent", "sleep 30", essential=True, image="agent:1"), models="COMPLETE"),
        sidecar("models", "true", image="models:1"),
    ]
    handle = launcher.start(uuid.uuid4().hex, containers)
    until(launcher, handle, lambda s: s.running)
    assert runtime.started == ["models:1", "agent:1", "shine:1"]
    launcher.stop(handle)
