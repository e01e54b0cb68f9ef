"""Where the reconciler runs a task's containers: the Docker engine (the tests bring an in-memory one).

A runtime starts one container at a time; task_launch.py starts a task's containers in ECS's order. A
task of several containers first gets a network namespace (``open_namespace``, as awsvpc gives the task
one network interface): its containers join it, so localhost reaches a sidecar and the task's ports are
published once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any, Protocol


@dataclass(frozen=True)
class ContainerState:
    running: bool
    exit_code: int | None = None
    reason: str | None = None
    # container port -> where it answers from this host (a port nothing serves refuses connections)
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)
    health: str | None = None  # the container health check's status: starting, healthy, unhealthy (None: no check)
    pending: bool = False  # a task whose essential containers wait for their dependencies


class TaskRuntime(Protocol):
    def open_namespace(self, task_id: str, image: str, ports: list[int]) -> str:
        """The task's network namespace, publishing ``ports`` (what ECS's pause container holds); a handle."""

    def start(self, task_id: str, container: dict[str, Any], namespace: str | None = None) -> str:
        """Start one container of the task from its task-definition entry, in ``namespace`` if given (else with
        its own network, its ports published); returns a handle."""

    def state(self, handle: str) -> ContainerState: ...

    def stop(self, handle: str) -> None: ...

    def logs(self, handle: str) -> list[tuple[int, str]]:
        """What the container wrote to stdout and stderr since the last call: (epoch ms, line) pairs."""


def send_json(
    handler: BaseHTTPRequestHandler, status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> None:
    """A complete JSON answer with its length, so keep-alive clients know where it ends."""
    raw = json.dumps(body).encode()
    handler.send_response(status)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(raw)))
    handler.end_headers()
    handler.wfile.write(raw)


class DockerRuntime:
    """Tasks as real containers on the local engine, published on 127.0.0.1 ephemeral ports."""

    LABEL = "snailtrail.sandbox"

    def __init__(self, sandbox_id: str, task_environment: dict[str, str] | None = None) -> None:
        import docker

        self._docker = docker.from_env(timeout=120)
        self.sandbox_id = sandbox_id
        self.task_environment = task_environment or {}
        self._failed: dict[str, ContainerState] = {}
        self._log_cursor: dict[str, int] = {}  # handle -> the stamp of its last shipped line, in nanoseconds

    def open_namespace(self, task_id: str, image: str, ports: list[int]) -> str:
        """A container that only holds the task's network namespace: the task's image, sleeping."""
        return self._run(
            task_id,
            f"{task_id}/namespace",
            image,
            name=f"snailtrail-task-{task_id[:12]}",
            entrypoint=["sleep", "infinity"],
            command=[],
            healthcheck={"test": ["NONE"]},  # it only holds the namespace: not the image's HEALTHCHECK
            ports={f"{port}/tcp": ("127.0.0.1", None) for port in ports},
        )

    def start(self, task_id: str, container: dict[str, Any], namespace: str | None = None) -> str:
        environment = self.task_environment | {e["name"]: e["value"] for e in container.get("environment", [])}
        network: dict[str, Any] = (
            {"network_mode": f"container:{namespace}"}
            if namespace
            else {"ports": {f"{m['containerPort']}/tcp": ("127.0.0.1", None) for m in container["portMappings"]}}
        )
        check = container.get("healthCheck")
        return self._run(
            task_id,
            f"{task_id}/{container['name']}",
            container["image"],
            name=f"snailtrail-task-{task_id[:12]}" + (f"-{container['name']}" if namespace else ""),
            command=container.get("command"),
            environment=environment,
            mem_limit=f"{int(container.get('memory') or 512)}m",
            # ECS cpu units: 1024 is one vCPU.
            nano_cpus=cpu_units(container.get("cpu")) * 1_000_000_000 // 1024 or None,
            volumes={
                self._volume(task_id, m["sourceVolume"]): {"bind": m["containerPath"], "mode": "rw"}
                for m in container.get("mountPoints") or []
            },
            # ECS's healthCheck is Docker's: the same command forms, seconds as nanoseconds.
            healthcheck={
                "test": check["command"],
                "interval": int(check.get("interval", 30) * 1e9),
                "timeout": int(check.get("timeout", 5) * 1e9),
                "retries": int(check.get("retries", 3)),
                "start_period": int(check.get("startPeriod", 0) * 1e9),
            }
            if check
            else None,
            **network,
        )

    def container(self, handle: str) -> Any:
        """The engine's container behind a handle (smoke reads what it listens on)."""
        return self._docker.containers.get(handle)

    def _volume(self, task_id: str, name: str) -> str:
        """The task's volume (Fargate's ephemeral storage): a Docker volume its containers share, removed with it."""
        volume = f"snailtrail-task-{task_id[:12]}-{name}"
        self._docker.volumes.create(volume, labels={self.LABEL: self.sandbox_id, "snailtrail.task": task_id})
        return volume

    def _run(self, task_id: str, key: str, image: str, **options: Any) -> str:
        from docker.errors import DockerException

        try:
            created = self._docker.containers.run(
                image, detach=True, labels={self.LABEL: self.sandbox_id, "snailtrail.task": task_id}, **options
            )
        except DockerException as exc:
            # As ECS does, a task whose container cannot start is a stopped task with the reason.
            self._failed[key] = ContainerState(False, None, f"{start_failure(exc)}: {exc}")
            return key
        return created.id

    def state(self, handle: str) -> ContainerState:
        from docker.errors import NotFound

        if handle in self._failed:
            return self._failed[handle]
        try:
            container = self._docker.containers.get(handle)
        except NotFound:
            return ContainerState(False, None, "container removed")
        if container.status in ("exited", "dead"):
            state = container.attrs["State"]
            logs = container.logs(tail=3).decode(errors="replace").strip().replace("\n", " | ")
            return ContainerState(False, state.get("ExitCode"), f"Essential container exited: {logs}"[:500])
        ports = {
            int(spec.split("/")[0]): (binding[0]["HostIp"], int(binding[0]["HostPort"]))
            for spec, binding in (container.ports or {}).items()
            if binding
        }
        return ContainerState(True, ports=ports, health=(container.attrs["State"].get("Health") or {}).get("Status"))

    def logs(self, handle: str) -> list[tuple[int, str]]:
        from docker.errors import DockerException

        if handle in self._failed:
            return []
        shipped_ns = self._log_cursor.get(handle)  # the stamp of the last line shipped, in nanoseconds
        try:
            # `since` is a UNIX timestamp (Engine API); a fraction is not honoured everywhere, so the
            # lines of that second come again and those already shipped are dropped here by their stamp.
            # The low-level call reads the logs without inspecting the container again (state() just did).
            raw = self._docker.api.logs(
                handle, timestamps=True, since=shipped_ns // 1_000_000_000 if shipped_ns else None
            )
        except DockerException:
            return []
        lines: list[tuple[int, str]] = []
        for entry in raw.decode(errors="replace").split("\n"):
            stamp, _, message = entry.partition(" ")
            if not stamp:
                continue
            at_ns = rfc3339_ns(stamp)
            if shipped_ns is not None and at_ns <= shipped_ns:
                continue
            lines.append((at_ns // 1_000_000, message))
            self._log_cursor[handle] = shipped_ns = at_ns
        return lines

    def stop(self, handle: str) -> None:
        from docker.errors import DockerException

        if self._failed.pop(handle, None) is not None:
            return
        try:
            container = self._docker.containers.get(handle)
            container.stop(timeout=5)
            container.remove(force=True)
            if not container.attrs["HostConfig"]["NetworkMode"].startswith("container:"):
                # The task's last container (or its namespace): its volumes go with it.
                task = container.labels.get("snailtrail.task", "")
                for volume in self._docker.volumes.list(filters={"label": f"snailtrail.task={task}"}):
                    volume.remove(force=True)
        except DockerException:
            pass  # already gone: nothing to stop

    def remove_all(self) -> int:
        """Every container this sandbox started, including ones left by a crash of the daemon."""
        removed = 0
        for container in self._docker.containers.list(all=True, filters={"label": f"{self.LABEL}={self.sandbox_id}"}):
            container.remove(force=True)
            removed += 1
        for volume in self._docker.volumes.list(filters={"label": f"{self.LABEL}={self.sandbox_id}"}):
            volume.remove(force=True)
        return removed


# What the engine says when the image itself cannot be had; anything else failed once the image was there.
_PULL_FAILURES = (
    "pull access denied",
    "manifest unknown",
    "manifest for",
    "repository does not exist",
    "no such image",
)


def start_failure(exc: Exception) -> str:
    """ECS's name for a container that did not start (AWS docs, "Amazon ECS stopped tasks errors"):
    CannotPullContainerError when the image could not be had, CannotStartContainerError when its process
    could not start (an executable not found in the image, say), whatever else the message says."""
    from docker.errors import ImageNotFound

    text = str(exc).lower()
    if isinstance(exc, ImageNotFound) or any(failure in text for failure in _PULL_FAILURES):
        return "CannotPullContainerError"
    return "CannotStartContainerError"


def rfc3339_ns(stamp: str) -> int:
    """Docker's RFC 3339 stamp (``2026-12-02T12:17:34.503459123Z``, trailing zeros trimmed) in nanoseconds."""
    from datetime import datetime

    whole, _, fraction = stamp.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole + "+00:00").timestamp())
    return seconds * 1_000_000_000 + int(fraction[:9].ljust(9, "0"))


def cpu_units(value: object) -> int:
    """ECS cpu as units (1024 per vCPU) from "256", 256 or "1 vCPU"; 0 when unset."""
    text = str(value or "0").strip().lower()
    if text.endswith("vcpu"):
        return int(float(text.removesuffix("vcpu").strip()) * 1024)
    return int(float(text))
