"""Smoke: the image run locally as the task definition would run it, and its declared port probed, before
anything is pushed. A task of several containers runs them all together in one network namespace, in
dependsOn order, as awsvpc does (``smoke_task``)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from snailtrail.checks.criteria import fetch
from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.plan.taskdef import container_environment, render
from snailtrail.run.images import docker_client

Progress = Callable[[str], None]
# A listening app that still does not answer on the declared port after this long has bound elsewhere.
WRONG_PORT_AFTER_S = 3.0


@dataclass(frozen=True)
class SmokeResult:
    ok: bool
    summary: str
    seconds_to_healthy: float | None = None
    listening_ports: tuple[int, ...] = ()


def _listening_ports(container: Any) -> tuple[int, ...]:
    """TCP ports the container listens on, read from /proc/net inside it (no tools needed in the image)."""
    try:
        result = container.exec_run(["cat", "/proc/net/tcp", "/proc/net/tcp6"])
    except Exception:  # noqa: BLE001 - best effort: the container may already be gone
        return ()
    ports = set()
    for line in result.output.decode(errors="replace").splitlines()[1:]:
        fields = line.split()
        if len(fields) > 3 and fields[3] == "0A":  # TCP_LISTEN
            ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return tuple(sorted(ports))


def wrong_port(
    container: Any, port: int, environment: dict[str, str], others: tuple[int, ...] = ()
) -> SmokeResult | None:
    """The app is up but listening elsewhere: incidents 2 and 6 of docs/incidents.md, said with both values.
    ``others``: ports the task's other containers declare (they share the app's network namespace)."""
    ports = _listening_ports(container)
    elsewhere = [p for p in ports if p != port and p not in others]
    if not elsewhere or port in ports:
        return None
    return SmokeResult(
        False,
        f"the app listens on {', '.join(map(str, elsewhere))} but the task definition declares "
        f"container port {port} (PORT={environment.get('PORT', 'unset')}): the image ignores $PORT",
        None,
        ports,
    )


def architecture_mismatch(image_architecture: str, settings: Settings) -> str | None:
    """Why an image of this architecture cannot run as the environment's tasks, or None."""
    wanted = settings.environment.cpu_architecture
    if wanted is None or image_architecture == wanted.docker_architecture:
        return None
    return (
        f"the image is built for {image_architecture or 'an unknown architecture'}, but the tasks run "
        f"{wanted.value} (environments.{settings.environment_name}.cpu_architecture): they would fail to start; "
        f"rebuild it with `snailtrail build` for {wanted.docker_platform}"
    )


def smoke(
    image: str,
    settings: Settings,
    phase: Phase,
    timeout_s: float,
    progress: Progress,
    sidecar_images: dict[str, str] | None = None,
    task_environment: dict[str, str] | None = None,
) -> SmokeResult:
    """Run the image once as the task definition would (environment, command) and probe the declared port;
    a task of several containers runs them all together (smoke_task.py), ``sidecar_images`` by name. Every
    container gets ``task_environment``, what ECS would give the task (task_credentials.py: the role's
    credentials and region, or the sandbox's AWS API), the task definition's environment over it."""
    if phase.manifest.containers:
        return smoke_task(settings, phase, image, sidecar_images or {}, timeout_s, progress, task_environment)

    spec = phase.container
    environment = dict(task_environment or {}) | container_environment(settings, phase)
    port, health_path = spec.port, spec.health_check.path
    client = docker_client()
    mismatch = architecture_mismatch(client.images.get(image).attrs.get("Architecture", ""), settings)
    if mismatch is not None:
        return SmokeResult(False, mismatch)
    container = client.containers.run(
        image,
        command=spec.command,
        detach=True,
        environment=environment,
        ports={f"{port}/tcp": ("127.0.0.1", None)},
        labels={"snailtrail.run.smoke": "1"},
    )
    started = time.monotonic()
    try:
        last = "not probed yet"
        while time.monotonic() - started < timeout_s:
            container.reload()
            if container.status == "exited":
                code = container.attrs["State"]["ExitCode"]
                logs = container.logs(tail=10).decode(errors="replace").strip()
                return SmokeResult(False, f"container exited with code {code} before answering: {logs}")
            bindings = (container.ports or {}).get(f"{port}/tcp") or []
            if bindings:
                answer = fetch(f"http://127.0.0.1:{bindings[0]['HostPort']}{health_path}", timeout=2)
                if answer.status == 200:
                    elapsed = time.monotonic() - started
                    return SmokeResult(
                        True,
                        f"{health_path} answered 200 on container port {port} after {elapsed:.1f} s",
                        elapsed,
                        _listening_ports(container),
                    )
                last = f"status {answer.status}" if answer.status else (answer.error or "no answer")
            if time.monotonic() - started > WRONG_PORT_AFTER_S:
                wrong = wrong_port(container, port, environment)
                if wrong is not None:
                    return wrong
            time.sleep(0.25)
        wrong = wrong_port(container, port, environment)
        if wrong is not None:
            return wrong
        progress(f"smoke: last probe {last}")
        return SmokeResult(
            False,
            f"{health_path} on container port {port} did not answer 200 within {timeout_s:.0f} s (last: {last})",
            None,
            _listening_ports(container),
        )
    finally:
        container.remove(force=True)


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
