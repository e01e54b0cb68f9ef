"""The Docker runtime: a task's published container port, and its output read once for the awslogs driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from snailtrail.sandbox.runtime import DockerRuntime
from tests.conftest import BASE_IMAGE, docker_problem
from tests.sandbox.test_reconciler import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def runtime() -> Iterator[DockerRuntime]:
    problem = docker_problem()
    if problem:
        pytest.skip(problem)
    docker_runtime = DockerRuntime(f"test-{uuid.uuid4().hex[:8]}")
    try:
        yield docker_runtime
    finally:
        docker_runtime.remove_all()


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
