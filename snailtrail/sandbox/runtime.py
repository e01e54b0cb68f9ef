"""Where the reconciler runs a task's container: the Docker engine, or in memory for fast tests."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol


@dataclass(frozen=True)
class ContainerState:
    running: bool
    exit_code: int | None = None
    reason: str | None = None
    address: tuple[str, int] | None = None  # where the container port is reachable from this host


class TaskRuntime(Protocol):
    def start(self, task_id: str, container: dict[str, Any]) -> str:
        """Start the task's container from its task-definition container entry; returns a handle."""

    def state(self, handle: str) -> ContainerState: ...

    def stop(self, handle: str) -> None: ...


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


class _FakeApp(BaseHTTPRequestHandler):
    """A stand-in for the service: /health and /ml/status answering as the image's behaviour says."""

    def do_GET(self) -> None:
        env = self.server.environment  # type: ignore[attr-defined]
        if self.path == "/health":
            image = self.server.image  # type: ignore[attr-defined]
            self.server.probes += 1  # type: ignore[attr-defined]
            flapping_down = "flap" in image and self.server.probes % 2 == 0  # type: ignore[attr-defined]
            status = 500 if "unhealthy" in image or flapping_down else 200
            body = {
                "status": "ok" if status == 200 else "failing",
                "phase": env.get("SHINE_PHASE"),
                "image": self.server.image,
            }  # type: ignore[attr-defined]
        elif self.path == "/ml/status":
            status, body = 200, {"mode": env.get("FAKE_ML_MODE", "basic"), "degraded": False, "reasons": []}
        elif "errors" in self.server.image:  # type: ignore[attr-defined]
            status, body = 500, {"error": "internal error"}
        else:
            status, body = 404, {"error": "not found"}
        send_json(self, status, body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by http.server
        pass


class InMemoryRuntime:
    """Tasks as loopback HTTP servers, behaving as their image reference says.

    An image whose reference contains ``crash`` exits with code 1 shortly after starting,
    ``wrong-port`` listens on a port other than the declared one, ``unhealthy`` answers /health
    with 500, ``flap`` alternates 200 and 500, ``errors`` passes its health checks but answers
    every other request (what users send) with 500; any other image is a healthy app. Used by the unit
    tests, where Docker is absent.
    """

    crash_after_s = 0.0

    def __init__(self) -> None:
        self._servers: dict[str, tuple[ThreadingHTTPServer | None, float, str]] = {}
        self._lock = threading.Lock()
        self.started: list[str] = []

    def start(self, task_id: str, container: dict[str, Any]) -> str:
        image = container["image"]
        environment = {e["name"]: e["value"] for e in container.get("environment", [])}
        server: ThreadingHTTPServer | None = None
        if "crash" not in image:
            server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeApp)
            server.image = image  # type: ignore[attr-defined]
            server.environment = environment  # type: ignore[attr-defined]
            server.probes = 0  # type: ignore[attr-defined]
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        with self._lock:
            self._servers[task_id] = (server, time.monotonic(), image)
            self.started.append(image)
        return task_id

    def state(self, handle: str) -> ContainerState:
        with self._lock:
            server, started, image = self._servers[handle]
        if server is None:
            if time.monotonic() - started >= self.crash_after_s:
                return ContainerState(False, 1, "Essential container exited: app crashed on start-up")
            return ContainerState(True)
        if "wrong-port" in image:
            return ContainerState(True, address=("127.0.0.1", _closed_port()))
        return ContainerState(True, address=server.server_address[:2])  # type: ignore[arg-type]

    def stop(self, handle: str) -> None:
        with self._lock:
            server, _, _ = self._servers.pop(handle, (None, 0.0, ""))
        if server is not None:
            server.shutdown()
            server.server_close()


def _closed_port() -> int:
    """A loopback port nothing listens on: what the declared port looks like when the app binds elsewhere."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class DockerRuntime:
    """Tasks as real containers on the local engine, published on 127.0.0.1 ephemeral ports."""

    LABEL = "snailtrail.sandbox"

    def __init__(self, sandbox_id: str, task_environment: dict[str, str] | None = None) -> None:
        import docker

        self._docker = docker.from_env(timeout=120)
        self.sandbox_id = sandbox_id
        self.task_environment = task_environment or {}
        self._failed: dict[str, ContainerState] = {}

    def start(self, task_id: str, container: dict[str, Any]) -> str:
        from docker.errors import DockerException

        environment = self.task_environment | {e["name"]: e["value"] for e in container.get("environment", [])}
        port = container["portMappings"][0]["containerPort"]
        try:
            created = self._docker.containers.run(
                container["image"],
                command=container.get("command"),
                environment=environment,
                detach=True,
                name=f"snailtrail-task-{task_id[:12]}",
                ports={f"{port}/tcp": ("127.0.0.1", None)},
                mem_limit=f"{int(container.get('memory') or 512)}m",
                # ECS cpu units: 1024 is one vCPU.
                nano_cpus=cpu_units(container.get("cpu")) * 1_000_000_000 // 1024 or None,
                labels={self.LABEL: self.sandbox_id, "snailtrail.task": task_id},
            )
        except DockerException as exc:
            # As ECS does, a task whose image cannot start is a stopped task with the reason.
            reason = (
                "CannotPullContainerError"
                if "pull" in str(exc).lower() or "not found" in str(exc).lower()
                else "CannotStartContainerError"
            )
            self._failed[task_id] = ContainerState(False, None, f"{reason}: {exc}")
            return task_id
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
        for binding in (container.ports or {}).values():
            if binding:
                return ContainerState(True, address=(binding[0]["HostIp"], int(binding[0]["HostPort"])))
        return ContainerState(True)

    def stop(self, handle: str) -> None:
        from docker.errors import DockerException

        if self._failed.pop(handle, None) is not None:
            return
        try:
            container = self._docker.containers.get(handle)
            container.stop(timeout=5)
            container.remove(force=True)
        except DockerException:
            pass  # already gone: nothing to stop

    def remove_all(self) -> int:
        """Every container this sandbox started, including ones left by a crash of the daemon."""
        removed = 0
        for container in self._docker.containers.list(all=True, filters={"label": f"{self.LABEL}={self.sandbox_id}"}):
            container.remove(force=True)
            removed += 1
        return removed


def cpu_units(value: object) -> int:
    """ECS cpu as units (1024 per vCPU) from "256", 256 or "1 vCPU"; 0 when unset."""
    text = str(value or "0").strip().lower()
    if text.endswith("vcpu"):
        return int(float(text.removesuffix("vcpu").strip()) * 1024)
    return int(float(text))
