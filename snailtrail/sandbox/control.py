"""Start, find and stop the sandbox daemon of a project; used by `sandbox` and by `deploy`, which alone starts it."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snailtrail.aws.session import AccessKey
from snailtrail.config.aws_rules import require_phases
from snailtrail.config.phases import load_phases
from snailtrail.config.settings import Settings
from snailtrail.errors import ConfigError, SnailtrailError
from snailtrail.infra.template import environment_parameters
from snailtrail.sandbox.readiness import unready
from snailtrail.state.lock import process_alive
from snailtrail.ui import Reporter

START_TIMEOUT_S = 90.0
DEFAULT_REGISTRY_PORT = 5000


@dataclass(frozen=True)
class SandboxState:
    data: dict[str, Any]

    @property
    def pid(self) -> int:
        return int(self.data["pid"])

    @property
    def aws_endpoint_url(self) -> str:
        return self.data["aws_endpoint_url"]

    @property
    def front_door_url(self) -> str:
        return self.data["front_door_url"]

    @property
    def ca_file(self) -> str | None:
        """The sandbox's certificate: what its HTTPS front doors serve and its clients trust."""
        return self.data.get("ca_file")

    @property
    def access_key(self) -> AccessKey | None:
        """The key the sandbox's AWS API accepts (the state file is its owner's alone)."""
        if "aws_access_key_id" not in self.data:
            return None
        return AccessKey(self.data["aws_access_key_id"], self.data["aws_secret_access_key"])

    @property
    def registry(self) -> str | None:
        return self.data.get("registry")

    @property
    def readiness(self) -> dict[str, dict[str, Any]]:
        return self.data.get("readiness") or {}

    def require_ready(self) -> None:
        """Refuse a sandbox that cannot serve the phases: nothing may degrade silently."""
        error = unready(self.readiness)
        if error is not None:
            raise error


def state_file(settings: Settings) -> Path:
    return settings.state_dir / f"sandbox-{settings.environment_name}.json"


def log_file(settings: Settings) -> Path:
    return settings.state_dir / f"sandbox-{settings.environment_name}.log"


def _is_daemon(pid: int) -> bool:
    """A pid from an old state file may now be anyone's process: signal only our daemon."""
    try:
        return b"snailtrail.sandbox.daemon" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL we wrote
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


class SandboxUnresponsive(SnailtrailError):
    """The sandbox's daemon is alive but its AWS API does not answer: it is neither running nor gone."""


def current(settings: Settings) -> SandboxState | None:
    """The running sandbox, or None when no daemon runs (a state file left by a daemon that is gone is removed).

    A daemon that is alive but slow to answer keeps its state file, and is reported
    (SandboxUnresponsive): starting a second one would orphan it with its containers.
    """
    path = state_file(settings)
    try:
        state = SandboxState(json.loads(path.read_text()))
        pid = state.pid
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not (process_alive(pid) and _is_daemon(pid)):
        path.unlink(missing_ok=True)
        return None
    if answers(state.aws_endpoint_url + "/moto-api/"):
        return state
    raise SandboxUnresponsive(
        f"the sandbox daemon (pid {pid}) is running, but its AWS API ({state.aws_endpoint_url}) does not answer",
        fix=f"retry in a moment; `snailtrail sandbox down` stops it (its log: {log_file(settings)})",
    )


def docker_reachable() -> bool:
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception:  # noqa: BLE001 - any failure means: no engine to use
        return False
    return True


def find_registry(reporter: Reporter) -> str | None:
    """A registry on 127.0.0.1: one already answering, else Debian's docker-registry if installed."""
    wanted = os.environ.get("SNAILTRAIL_SANDBOX_REGISTRY", f"127.0.0.1:{DEFAULT_REGISTRY_PORT}")
    if answers(f"http://{wanted}/v2/"):
        return wanted
    script = Path(__file__).resolve().parents[2] / "scripts" / "ensure-registry.sh"
    if shutil.which("docker-registry") and script.exists():
        result = subprocess.run(
            ["bash", str(script), wanted.rsplit(":", 1)[1]], capture_output=True, text=True, timeout=120, check=False
        )
        if result.returncode == 0:
            return result.stdout.strip()
        raise ConfigError(
            f"the sandbox's registry on {wanted} could not be started:\n" + result.stderr.strip()[-1500:],
            fix=f"fix what {script.name} says above, or set SNAILTRAIL_SANDBOX_REGISTRY to a registry that runs",
        )
    reporter.warn(
        "no OCI registry on 127.0.0.1: images are used from the local Docker engine "
        "(run scripts/ensure-registry.sh for a real registry)"
    )
    return None


def up(settings: Settings, reporter: Reporter) -> tuple[SandboxState, bool]:
    """The running sandbox, starting it when needed; True when this call started it.

    The configuration and the phases are valid before anything starts: the daemon provisions from them.
    """
    running = current(settings)
    if running is not None:
        running.require_ready()
        return running, False
    phases = load_phases(settings.phases_path)
    require_phases(settings, phases)
    # The daemon makes the environment's stack from the template with these values: what it lacks is named now.
    environment_parameters(settings, phases, certificate_arn="the sandbox's own certificate")
    if not docker_reachable():
        raise ConfigError(
            "the sandbox runs tasks as containers, and no Docker engine is reachable",
            fix="start one: scripts/ensure-docker-engine.sh (installs Debian's docker.io when missing)",
        )
    registry = find_registry(reporter)
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    path = state_file(settings)
    reporter.note(f"starting the sandbox for {settings.path} (log: {log_file(settings)})")
    with log_file(settings).open("ab") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "snailtrail.sandbox.daemon",
                "--config",
                str(settings.path),
                "--env",
                settings.environment_name,
                "--state-file",
                str(path),
            ]
            + (["--registry", registry] if registry else []),
            stdout=log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log_file(settings).read_text(errors="replace").splitlines()[-15:]
            raise SnailtrailError(
                "the sandbox daemon exited while starting:\n" + "\n".join(tail), fix=f"read {log_file(settings)}"
            )
        state = current(settings)
        if state is not None:
            state.require_ready()
            return state, True
        time.sleep(0.2)
    process.terminate()
    raise SnailtrailError(f"the sandbox did not start within {START_TIMEOUT_S:.0f} s", fix=f"read {log_file(settings)}")


def down(settings: Settings) -> dict[str, Any]:
    """Stop exactly what ``up`` started, by pid, and remove its containers."""
    path = state_file(settings)
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {"stopped": False, "reason": "not running"}
    pid = int(data["pid"])
    if process_alive(pid) and _is_daemon(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while process_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if process_alive(pid):
            os.kill(pid, signal.SIGKILL)
    removed = 0
    if docker_reachable():
        from snailtrail.sandbox.runtime import DockerRuntime

        removed = DockerRuntime(data["sandbox_id"]).remove_all()  # what a killed daemon could not remove
    path.unlink(missing_ok=True)
    return {"stopped": True, "pid": pid, "containers_removed": removed}


def describe(settings: Settings) -> dict[str, Any]:
    try:
        state, unresponsive = current(settings), None
    except SandboxUnresponsive as exc:
        state, unresponsive = None, exc.message
    data = state.data if state else {}
    return {
        "running": state is not None,
        "unresponsive": unresponsive,
        "aws_endpoint_url": data.get("aws_endpoint_url"),
        "front_door_url": data.get("front_door_url"),
        "test_url": data.get("test_url"),
        "listener_urls": data.get("listener_urls") or {},
        "ca_file": data.get("ca_file"),
        "stack": data.get("stack"),
        "dns_server": data.get("dns_server"),
        "registry": data.get("registry"),
        "docker": docker_reachable(),
        "pids": {"daemon": data["pid"]} if state else {},
        "state_file": str(state_file(settings)),
        "load_balancer_dns": data.get("load_balancer_dns"),
        "ready": state is not None and unready(state.readiness) is None,
        "readiness": state.readiness if state else {},
    }
