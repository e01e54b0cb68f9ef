"""The verify command's process: the garbage collector it pauses is back as found after, and it
loads what its checks use, never the Docker SDK or the AWS emulator."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import snailtrail
from snailtrail.commands.verify import cyclic_gc_paused
from tests.conftest import Sandbox, write_config


def test_the_collector_is_off_inside_and_as_found_after() -> None:
    assert gc.isenabled()
    with cyclic_gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with cyclic_gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled(), "a collector the caller had turned off must stay off"
    finally:
        gc.enable()


def test_the_collector_is_back_on_when_the_block_raises() -> None:
    with pytest.raises(RuntimeError), cyclic_gc_paused():
        raise RuntimeError("a check's error escaping the run")
    assert gc.isenabled()


def test_verify_in_process_leaves_the_collector_on(sandbox: Sandbox) -> None:
    """cli.run in a test or a benchmark: the run pauses the collector for itself only."""
    result = sandbox.run("verify", "--json")
    assert result.json()["checks"] and gc.isenabled()
    refused = sandbox.run("verify", "--json", "--phase", "no-such-phase")
    assert refused.exit_code == 2 and gc.isenabled()


def test_verify_imports_neither_docker_nor_moto(tmp_path: Path) -> None:
    """A verify process against an account (here moto's server, an empty one) loads no Docker SDK and no moto."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        # Nothing answers on port 9: the probes and the DNS query fail at once instead of waiting.
        config = write_config(
            tmp_path, "http://127.0.0.1:9", endpoint_url=f"http://{host}:{port}", dns_server="127.0.0.1:9"
        )
        code = (
            "import runpy, sys\n"
            f"sys.argv = ['snailtrail', '--config', {str(config)!r}, 'verify', '--json']\n"
            "try:\n    runpy.run_module('snailtrail', run_name='__main__')\n"
            "except SystemExit:\n    pass\n"
            "print('LOADED=' + ','.join(m for m in ('docker', 'moto') if m in sys.modules))\n"
        )
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SNAILTRAIL_"))}
        environment |= {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
        # The snailtrail under test, whichever install the interpreter has.
        environment["PYTHONPATH"] = str(Path(snailtrail.__file__).resolve().parents[1])
        result = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=environment, cwd=tmp_path
        )
    finally:
        server.stop()
    report, _, loaded = result.stdout.rpartition("LOADED=")
    assert json.loads(report)["checks"], result.stderr
    assert loaded.strip() == ""
