"""The Docker runtime: a task's published container port, and its output read once for the awslogs driver."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from snailtrail.sandbox.runtime import DockerRuntime
from tests.conftest import BASE_IMAGE, require_engine
from tests.sandbox.test_reconciler import wait_for

pytestmark = pytest.mark.docker


@pytest.fixture
def runtime() -> Iterator[DockerRuntime]:
    require_engine()
    docker_runtime = DockerRuntime(f"test-{uuid.uuid4().hex[:8]}")
    try:
        yield docker_runtime
    finally:
        docker_runtime.remove_all()


def test_output_is_read_once_with_its_time_and_the_mapped_port_is_published(runtime: DockerRuntime) -> None:
    container = {
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
