"""The sandbox daemon's state file: removed only when its process is gone, so a slow daemon is never doubled."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from snailtrail.config.settings import load_settings
from snailtrail.sandbox import control
from snailtrail.ui import Reporter


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_stand_in_daemon() -> subprocess.Popen[bytes]:
    """A live process that /proc names as the sandbox daemon. Popen returns while the kernel may still be
    setting up the new program's arguments (a vfork parent resumes mid-exec), when /proc/PID/cmdline is not
    yet the daemon's: wait until it is, as a daemon started a moment before any command would be."""
    process = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "snailtrail.sandbox.daemon"])
    for _ in range(200):
        if control._is_daemon(process.pid):
            return process
        time.sleep(0.05)
    process.kill()
    raise AssertionError(f"/proc never named pid {process.pid} as the sandbox daemon (exit code {process.poll()})")


@pytest.fixture
def slow_daemon() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that /proc names as the sandbox daemon, whose AWS API does not answer (yet)."""
    process = start_stand_in_daemon()
    try:
        yield process
    finally:
        process.kill()
        process.wait()


def settings_with_state(tmp_path: Path, pid: int) -> SimpleNamespace:
    settings = SimpleNamespace(state_dir=tmp_path, environment_name="sandbox", path=tmp_path / "snailtrail.yaml")
    state = {"pid": pid, "aws_endpoint_url": f"http://127.0.0.1:{closed_port()}", "sandbox_id": "abc"}
    control.state_file(settings).write_text(json.dumps(state))
    return settings


def test_an_alive_but_slow_daemon_keeps_its_state_file_and_is_not_started_again(
    tmp_path: Path, slow_daemon: subprocess.Popen[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = settings_with_state(tmp_path, slow_daemon.pid)
    started: list[object] = []
    monkeypatch.setattr(control, "subprocess", SimpleNamespace(Popen=lambda *a, **k: started.append(a)))
    monkeypatch.setattr(control, "docker_reachable", lambda: True)
    with pytest.raises(control.SandboxUnresponsive, match=f"pid {slow_daemon.pid}.*does not answer"):
        control.up(settings, Reporter(quiet=True))
    assert control.state_file(settings).exists()
    assert started == []
    assert control.describe(settings)["unresponsive"] is not None


def test_the_state_file_of_a_daemon_that_is_gone_is_removed(tmp_path: Path) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    settings = settings_with_state(tmp_path, gone.pid)
    assert control.current(settings) is None
    assert not control.state_file(settings).exists()


def test_up_names_what_the_template_lacks_before_anything_starts(project: Path, capsys: pytest.CaptureFixture) -> None:
    """The sandbox is the template's stack: a configuration without what the template needs is refused at once."""
    import yaml

    from snailtrail.cli import run

    document = yaml.safe_load(project.read_text())
    del document["environments"]["sandbox"]["model_bucket"]
    project.write_text(yaml.safe_dump(document))
    assert run(["--config", str(project), "sandbox", "up"]) == 2
    captured = capsys.readouterr()
    assert "environments.sandbox.model_bucket" in captured.out + captured.err
    assert not control.state_file(load_settings(str(project))).exists()
