"""The verify command's process hygiene: the garbage collector it pauses is back as found after."""

from __future__ import annotations

import gc

import pytest

from snailtrail.commands.verify import cyclic_gc_paused
from tests.conftest import Sandbox


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
