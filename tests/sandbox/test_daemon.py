"""The sandbox daemon's seeding: snailtrail's own interpreter, and a failure reported, never only logged."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from snailtrail.aws.session import AccessKey
from snailtrail.config.settings import load_settings
from snailtrail.sandbox.daemon import seed
from tests.conftest import write_config

KEY = AccessKey("AKIASANDBOXTESTKEY22", "sandbox-secret")


def settings_with_seeds(root: Path, *commands: list[str]):
    return load_settings(str(write_config(root, "http://placeholder", kind="sandbox", seed_commands=list(commands))))


def test_python_in_a_seed_command_is_snailtrails_interpreter_not_the_first_on_path_with_the_sandboxs_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    foreign = tmp_path / "foreign-venv" / "bin"
    foreign.mkdir(parents=True)
    (foreign / "python").write_text("#!/bin/sh\necho 'No module named shine' >&2\nexit 1\n")
    (foreign / "python").chmod(0o755)
    monkeypatch.setenv("PATH", f"{foreign}:{Path(sys.executable).parent}:/usr/bin:/bin")
    written = tmp_path / "interpreter"
    settings = settings_with_seeds(
        tmp_path,
        [
            "python",
            "-c",
            "import os, sys, snailtrail; "
            f"open({str(written)!r}, 'w').write(sys.executable + ' ' + os.environ['AWS_ACCESS_KEY_ID'])",
        ],
    )
    result = seed(settings, "http://127.0.0.1:1", KEY)
    assert result.ok, result.detail
    assert written.read_text() == f"{sys.executable} {KEY.access_key_id}"  # and the sandbox's key, its API's only one


def test_a_failing_seed_command_is_reported_with_its_last_line_and_stops_the_seeding(tmp_path: Path) -> None:
    marker = tmp_path / "second-ran"
    settings = settings_with_seeds(
        tmp_path,
        ["python", "-c", "import sys; sys.exit('No module named shine')"],
        ["python", "-c", f"open({str(marker)!r}, 'w')"],
    )
    result = seed(settings, "http://127.0.0.1:1", KEY)
    assert not result.ok
    assert result.detail.endswith("exited 1: No module named shine")
    assert result.fix is not None and sys.executable in result.fix
    assert not marker.exists()


def test_a_seed_command_that_cannot_start_is_reported(tmp_path: Path) -> None:
    result = seed(settings_with_seeds(tmp_path, [str(tmp_path / "missing-publisher")]), "http://127.0.0.1:1", KEY)
    assert not result.ok and "could not run" in result.detail and "missing-publisher" in result.detail
