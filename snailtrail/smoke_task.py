"""Smoke test of a task of several containers: run them together on this machine as ECS runs them.

One network namespace (awsvpc: localhost reaches a sidecar), containers started in ``dependsOn`` order with
each condition honoured, each with the task definition's own environment, command, health check and
volumes (sandbox/task_launch.py on the Docker runtime); then the app's health path is probed on the task's
published port. An essential container that exits fails the smoke test with its name, exit code and output.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping

from snailtrail.checks.criteria import fetch
from snailtrail.config import Settings
from snailtrail.images import WRONG_PORT_AFTER_S, SmokeResult, wrong_port
from snailtrail.phases import Phase
from snailtrail.taskdef import render


def smoke_task(
    settings: Settings,
    phase: Phase,
    image: str,
    sidecar_images: Mapping[str, str],
    timeout_s: float,
    progress: Callable[[str], None],
    task_environment: Mapping[str, str] | None = None,
) -> SmokeResult:
    from snailtrail.sandbox.runtime import DockerRuntime
    from snailtrail.sandbox.task_launch import TaskLauncher

    containers = render(settings, phase, image, sidecar_images)["containerDefinitions"]
    port, path = phase.container.port, phase.container.health_check.path
    runtime = DockerRuntime(f"smoke-{uuid.uuid4().hex[:12]}", dict(task_environment or {}))
    launcher = TaskLauncher(runtime)
    handle = launcher.start(uuid.uuid4().hex, containers)
    started = time.monotonic()
    try:
        last = "not probed yet"
        while time.monotonic() - started < timeout_s:
            state = launcher.state(handle)
            if not state.running and not state.pending:
                return SmokeResult(False, f"the task stopped (exit code {state.exit_code}): {state.reason}")
            address = state.ports.get(port) if state.running else None
            if address is not None:
                answer = fetch(f"http://{address[0]}:{address[1]}{path}", timeout=2)
                if answer.status == 200:
                    elapsed = time.monotonic() - started
                    return SmokeResult(
                        True,
                        f"{len(containers)} containers started in dependsOn order in one network namespace; "
                        f"{path} answered 200 on container port {port} after {elapsed:.1f} s",
                        elapsed,
                    )
                last = f"status {answer.status}" if answer.status else (answer.error or "no answer")
            app = launcher.container_handle(handle, containers[0]["name"])
            if app is not None and time.monotonic() - started > WRONG_PORT_AFTER_S:
                environment = {e["name"]: e["value"] for e in containers[0]["environment"]}
                others = tuple(m["containerPort"] for c in containers[1:] for m in c.get("portMappings") or [])
                wrong = wrong_port(runtime.container(app), port, environment, others)
                if wrong is not None:  # the app is up, listening elsewhere (incidents 2 and 6)
                    return wrong
            time.sleep(0.25)
        waiting = [c["name"] for c in containers if c["name"] not in launcher.container_states(handle)]
        progress(f"smoke: last probe {last}; not started: {', '.join(waiting) or 'none'}")
        return SmokeResult(
            False,
            f"{path} on container port {port} did not answer 200 within {timeout_s:.0f} s (last: {last}"
            + (f"; still waiting to start: {', '.join(waiting)}" if waiting else "")
            + ")",
        )
    finally:
        launcher.stop(handle)
        runtime.remove_all()
