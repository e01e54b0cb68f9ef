"""`python -m shine` for real: gunicorn on $PORT, the phase it serves, the drill."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_for(port: int, path: str, deadline: float, status: int = 200) -> None:
    t0 = time.monotonic()
    while time.monotonic() - t0 < deadline:
        try:
            if get(port, path)[0] == status:
                return
        except (urllib.error.URLError, ConnectionError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} on port {port} did not answer {status} within {deadline}s")


@pytest.fixture
def serve(tmp_path):
    procs = []

    def _serve(**env: str) -> subprocess.Popen:
        full_env = {**os.environ, "SHINE_MODEL_SOURCES": "cache,bundled", "SHINE_MODEL_CACHE": str(tmp_path), **env}
        proc = subprocess.Popen(
            [sys.executable, "-m", "shine"], env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        procs.append(proc)
        return proc

    yield _serve
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_serves_on_port_env_with_phase(serve):
    port = free_port()
    serve(PORT=str(port), SHINE_PHASE="full")
    wait_for(port, "/health", 15)
    wait_for(port, "/ready", 15)
    status, body = get(port, "/ml/status")
    assert status == 200 and body["mode"] == "enhanced"
    assert get(port, "/health")[1]["phase"] == "full"


def test_drill_ignores_port(serve):
    port, wrong = free_port(), free_port()
    proc = serve(PORT=str(port), SHINE_PHASE="simple", SHINE_DRILL_WRONG_PORT=str(wrong))
    wait_for(wrong, "/health", 15)
    with pytest.raises(urllib.error.URLError):
        get(port, "/health")
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert "DRILL" in out


def test_fail_requests_drill_says_so_at_start(serve):
    port = free_port()
    proc = serve(PORT=str(port), SHINE_PHASE="simple", SHINE_DRILL_FAIL_REQUESTS="1")
    wait_for(port, "/health", 15)
    assert get(port, "/ready")[0] == 500
    proc.terminate()
    out, _ = proc.communicate(timeout=10)
    assert "DRILL: SHINE_DRILL_FAIL_REQUESTS set" in out


def test_bad_config_exits_2(serve):
    proc = serve(SHINE_PHASE="galactic")
    assert proc.wait(15) == 2
    assert "SHINE_PHASE" in proc.stdout.read()
