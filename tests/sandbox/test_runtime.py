"""The Docker runtime: a task's published container port, and its output read once for the awslogs driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime
from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.sandbox.runtime import DockerRuntime, start_failure
from tests.conftest import BASE_IMAGE, require_engine
from tests.sandbox.test_reconciler import wait_for


class SecondGrainedLogs:
    """An engine whose ``since`` keeps whole seconds (the Engine API documents a UNIX timestamp): the lines
    of the cursor's second come back on every read."""

    def __init__(self) -> None:
        self.entries: list[str] = []

    def logs(self, handle: str, timestamps: bool, since: int | None) -> bytes:
        def second(entry: str) -> float:
            return datetime.fromisoformat(entry[:19] + "+00:00").timestamp()

        return "".join(f"{e}\n" for e in self.entries if since is None or second(e) >= since).encode()


def test_each_line_is_shipped_once_however_coarse_the_engines_since() -> None:
    engine = SecondGrainedLogs()
    runtime = DockerRuntime.__new__(DockerRuntime)  # the log reading alone, against the engine above
    runtime._docker, runtime._failed, runtime._log_cursor = SimpleNamespace(api=engine), {}, {}
    engine.entries = ["2026-12-02T12:17:34.503459123Z DRILL: app listens on 8080, ignoring PORT=8000"]
    shipped = runtime.logs("task")
    for _ in range(20):  # a pass of the reconciler every half second
        shipped += runtime.logs("task")
    engine.entries += ["2026-12-02T12:17:34.9Z ML settled mode=enhanced", "2026-12-02T12:17:35Z ready"]
    shipped += runtime.logs("task") + runtime.logs("task")
    assert [message for _, message in shipped] == [
        "DRILL: app listens on 8080, ignoring PORT=8000",
        "ML settled mode=enhanced",
        "ready",
    ]
    assert shipped[0][0] == 1796213854503  # epoch milliseconds, as PutLogEvents wants


@pytest.fixture
def runtime() -> Iterator[DockerRuntime]:
    require_engine()
    docker_runtime = DockerRuntime(f"test-{uuid.uuid4().hex[:8]}")
    try:
        yield docker_runtime
    finally:
        docker_runtime.remove_all()


@pytest.mark.docker
def test_output_is_read_once_with_its_time_and_the_mapped_port_is_published(runtime: DockerRuntime) -> None:
    container = {
        "name": "app",
        "image": BASE_IMAGE,
        "command": ["sh", "-c", "echo starting; echo 'no models' >&2; exec sleep 60"],
        "portMappings": [{"containerPort": 8000}],
        "memory": 64,
    }
    handle = runtime.start(uuid.uuid4().hex, container)
    lines: list[tuple[int, str]] = []

    def both_lines() -> bool:
        lines.extend(runtime.logs(handle))
        return len(lines) >= 2

    wait_for(both_lines, timeout=60)
    assert sorted(message for _, message in lines) == ["no models", "starting"]
    assert all(at > 1_700_000_000_000 for at, _ in lines)  # epoch milliseconds, as PutLogEvents wants
    assert runtime.logs(handle) == []  # nothing shipped twice
    assert list(runtime.state(handle).ports) == [8000]


EXEC_NOT_FOUND = (
    "failed to create shim: OCI runtime create failed: container_linux.go:380: starting container process caused: "
    'exec: "python": executable file not found in $PATH: unknown'
)


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (lambda errors: errors.APIError(EXEC_NOT_FOUND), "CannotStartContainerError"),
        (
            lambda errors: errors.ImageNotFound("404 Client Error: Not Found (no such image: shine:gone)"),
            "CannotPullContainerError",
        ),
        (
            lambda errors: errors.APIError(
                "pull access denied for shine, repository does not exist or may require login"
            ),
            "CannotPullContainerError",
        ),
    ],
    ids=["executable not found", "image not found", "pull denied"],
)
def test_a_container_that_cannot_start_is_named_as_ecs_names_it(error: Any, reason: str) -> None:
    import docker.errors

    assert start_failure(error(docker.errors)) == reason


@pytest.mark.docker
def test_a_command_missing_from_the_image_stops_the_task_with_cannot_start(runtime: DockerRuntime) -> None:
    container = {
        "name": "app",
        "image": BASE_IMAGE,
        "command": ["python", "-V"],
        "portMappings": [{"containerPort": 8000}],
    }
    handle = runtime.start(uuid.uuid4().hex, container)
    state = runtime.state(handle)
    assert not state.running and state.reason.startswith("CannotStartContainerError: ")
    assert "executable file not found" in state.reason


def test_a_tasks_containers_share_localhost_and_volumes_and_start_in_dependency_order(runtime: DockerRuntime) -> None:
    import urllib.request

    from snailtrail.sandbox.task_launch import TaskLauncher

    mount = [{"sourceVolume": "models", "containerPath": "/models", "readOnly": False}]
    fetch = "import urllib.request as u; print(u.urlopen('http://localhost:8000/m.txt').read().decode())"
    containers = [
        {
            "name": "app",
            "image": BASE_IMAGE,
            "command": ["python3", "-m", "http.server", "8000", "--directory", "/models"],
            "portMappings": [{"containerPort": 8000}],
            "memory": 64,
            "mountPoints": mount,
            "dependsOn": [{"containerName": "models", "condition": "SUCCESS"}],
        },
        {
            "name": "models",
            "image": BASE_IMAGE,
            "essential": False,
            "command": ["sh", "-c", "echo weights > /models/m.txt"],
            "memory": 32,
            "mountPoints": mount,
        },
        {
            "name": "metrics",
            "image": BASE_IMAGE,
            "command": ["sh", "-c", f'sleep 1; python3 -c "{fetch}"; exec sleep 60'],
            "memory": 32,
            "dependsOn": [{"containerName": "app", "condition": "START"}],
            "healthCheck": {"command": ["CMD", "python3", "-c", fetch], "interval": 1, "timeout": 2, "retries": 3},
        },
    ]
    launcher = TaskLauncher(runtime)
    handle = launcher.start(uuid.uuid4().hex, containers)
    state = wait_for(lambda: (s := launcher.state(handle)).running and s, timeout=60)
    host, port = state.ports[8000]

    # The app serves what the init container wrote to the task's volume, on the task's one published port.
    def served() -> bytes | None:
        try:
            return urllib.request.urlopen(f"http://{host}:{port}/m.txt", timeout=5).read()
        except OSError:
            return None  # the app is running but not listening yet

    assert wait_for(served, timeout=30) == b"weights\n"
    assert launcher.container_states(handle)["models"].exit_code == 0
    output: list[str] = []

    def metrics_reached_the_app() -> bool:
        output.extend(line for _, line in launcher.logs(handle).get("metrics", []))
        return "weights" in output

    wait_for(metrics_reached_the_app, timeout=30)  # localhost:8000 from the sidecar is the app
    wait_for(lambda: launcher.state(handle) and launcher.container_states(handle)["metrics"].health == "healthy", 30)
    launcher.stop(handle)
    assert not runtime._docker.containers.list(all=True, filters={"label": f"snailtrail.task={handle}"})
    assert not runtime._docker.volumes.list(filters={"label": f"snailtrail.task={handle}"})
