"""The reconciler's runtime for the in-process tests: tasks without Docker, behaving as their task definition says.

A container with a ``command`` runs that command as a local process (its exit is the container's exit, its
output the container's logs). A container without one runs a stand-in for the service in a thread: an HTTP
server on ``PORT`` answering /health and /ml/status as the real service does, and honouring the real
service's drill variables (``SHINE_DRILL_WRONG_PORT``: listen there instead of PORT;
``SHINE_DRILL_FAIL_REQUESTS=1``: 500 to every request except /health). One variable exists only here,
because the real service has no way to fail its own health check: ``SHINE_DRILL_HEALTH`` is ``failing``
(/health answers 500) or ``flapping`` (200 and 500 in turn). The stand-in loads no models, so /ml/status
says ``basic``.

A task of several containers shares one namespace (``open_namespace``): its ports are the ports its containers
listen on. A container's ``healthCheck`` command runs as a local process at each look at the container: its
exit status drives the container's health (``retries`` failures in a row: unhealthy), and so HEALTHY.
"""

from __future__ import annotations

import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from snailtrail.sandbox.runtime import ContainerState, send_json


class _StandInApp(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        app: _App = self.server.app  # type: ignore[attr-defined]
        status, body = app.answer(self.path)
        app.print(f"GET {self.path} {status}")
        send_json(self, status, body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature fixed by http.server
        pass


class _App:
    """One task's stand-in service."""

    def __init__(self, environment: dict[str, str]) -> None:
        self.environment = environment
        self.health = environment.get("SHINE_DRILL_HEALTH", "")
        self.probes = 0
        self.lines: list[tuple[int, str]] = []
        self.port = int(environment.get("SHINE_DRILL_WRONG_PORT") or environment.get("PORT") or 8000)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _StandInApp)
        self.server.app = self  # type: ignore[attr-defined]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        self.print(f"listening on port {self.port}")

    def print(self, line: str) -> None:
        self.lines.append((int(time.time() * 1000), line))

    def answer(self, path: str) -> tuple[int, dict[str, Any]]:
        if path == "/health":
            self.probes += 1
            failing = self.health == "failing" or (self.health == "flapping" and self.probes % 2 == 0)
            status = 500 if failing else 200
            return status, {"status": "failing" if failing else "ok", "phase": self.environment.get("SHINE_PHASE")}
        if self.environment.get("SHINE_DRILL_FAIL_REQUESTS") == "1":
            return 500, {"error": "drill_failure"}
        if path == "/ml/status":
            return 200, {"mode": "basic", "degraded": True, "reasons": ["no models in the in-memory runtime"]}
        return 404, {"error": "not found"}


class _Process:
    """A container whose command runs as a local process."""

    def __init__(self, command: list[str], environment: dict[str, str]) -> None:
        self.lines: list[tuple[int, str]] = []
        self.process = subprocess.Popen(
            command, env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append((int(time.time() * 1000), line.rstrip("\n")))


class _Health:
    """A container health check: its command run as a local process, its status as Docker keeps it."""

    def __init__(self, check: dict[str, Any], environment: dict[str, str]) -> None:
        kind, *rest = check["command"]
        self.command = ["sh", "-c", rest[0]] if kind == "CMD-SHELL" else rest
        self.environment = environment
        self.retries = int(check.get("retries", 3))
        self.failures = 0
        self.status = "starting"

    def probe(self) -> str:
        if self.status != "unhealthy":
            passed = subprocess.run(self.command, env=self.environment, capture_output=True).returncode == 0
            self.failures = 0 if passed else self.failures + 1
            self.status = "healthy" if passed else ("unhealthy" if self.failures >= self.retries else self.status)
        return self.status


class InMemoryRuntime:
    def __init__(self) -> None:
        self._tasks: dict[str, _App | _Process] = {}
        self._health: dict[str, _Health] = {}
        self._namespaces: dict[str, list[str]] = {}  # namespace handle -> its containers' handles
        self._shipped: dict[str, int] = {}
        self._lock = threading.Lock()
        self.started: list[str] = []

    def open_namespace(self, task_id: str, image: str, ports: list[int]) -> str:
        with self._lock:
            self._namespaces[f"{task_id}/namespace"] = []
        return f"{task_id}/namespace"

    def start(self, task_id: str, container: dict[str, Any], namespace: str | None = None) -> str:
        environment = {e["name"]: e["value"] for e in container.get("environment", [])}
        command = container.get("command")
        task = _Process(command, environment) if command else _App(environment)
        handle = f"{task_id}/{container['name']}"
        with self._lock:
            self._tasks[handle] = task
            if container.get("healthCheck"):
                self._health[handle] = _Health(container["healthCheck"], environment)
            if namespace is not None:
                self._namespaces[namespace].append(handle)
            self.started.append(container["image"])
        return handle

    def state(self, handle: str) -> ContainerState:
        with self._lock:
            members = self._namespaces.get(handle)
            task = self._tasks.get(handle)
            health = self._health.get(handle)
        if members is not None:  # the namespace: the ports its containers listen on
            ports: dict[int, tuple[str, int]] = {}
            for member in members:
                ports |= self.state(member).ports
            return ContainerState(True, ports=ports)
        assert task is not None
        status = health.probe() if health is not None else None
        if isinstance(task, _Process):
            code = task.process.poll()
            if code is None:
                return ContainerState(True, health=status)
            task.reader.join(timeout=5)  # its last lines are its exit reason
            output = " | ".join(line for _, line in task.lines[-3:])
            return ContainerState(False, code, f"Essential container exited: {output}"[:500])
        address = task.server.server_address[:2]
        return ContainerState(True, ports={task.port: address}, health=status)  # type: ignore[dict-item]

    def logs(self, handle: str) -> list[tuple[int, str]]:
        with self._lock:
            task = self._tasks.get(handle)
            if task is None:
                return []
            shipped = self._shipped.get(handle, 0)
            self._shipped[handle] = len(task.lines)
        return task.lines[shipped : self._shipped[handle]]

    def stop(self, handle: str) -> None:
        with self._lock:
            self._namespaces.pop(handle, None)
            self._health.pop(handle, None)
            task = self._tasks.pop(handle, None)
            self._shipped.pop(handle, None)
        if isinstance(task, _App):
            task.server.shutdown()
            task.server.server_close()
        elif task is not None and task.process.poll() is None:
            task.process.kill()
            task.process.wait()
