"""Under CI=true a container test that cannot have the engine fails instead of skipping (tests/conftest.py)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

CONTAINER_TEST = "tests/e2e/test_sandbox.py::test_sandbox_status_and_down_remove_exactly_its_containers"


def run_without_engine(**environment: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", CONTAINER_TEST],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={k: v for k, v in os.environ.items() if k != "CI"}
        | {"DOCKER_HOST": "unix:///nonexistent.sock"}
        | environment,
    )


def test_under_ci_a_container_test_without_an_engine_fails_saying_why() -> None:
    result = run_without_engine(CI="true")
    assert result.returncode == 1, result.stdout
    assert "CI=true: this container test cannot skip (Skipped: no Docker engine reachable" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]


def test_outside_ci_a_container_test_without_an_engine_skips() -> None:
    result = run_without_engine()
    assert result.returncode == 0, result.stdout
    assert result.stdout.splitlines()[-1].startswith("1 skipped")
