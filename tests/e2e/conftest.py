"""The end-to-end tests' project: a copy of the repository's configuration and phases, with its own sandbox
daemon (real containers) for each test module."""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import BASE_IMAGE, REPO, require_engine


class Project:
    def __init__(self, root: Path) -> None:
        self.root = root

    def run(self, *args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "snailtrail", "--config", str(self.root / "snailtrail.yaml"), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=os.environ | {"SNAILTRAIL_BASE_IMAGE": BASE_IMAGE},
        )

    def json(self, *args: str) -> tuple[int, dict]:
        result = self.run(*args, "--json")
        try:
            return result.returncode, json.loads(result.stdout)
        except ValueError:
            raise AssertionError(f"no JSON (exit {result.returncode}):\n{result.stdout}\n{result.stderr}") from None

    def ensure(self, phase: str) -> dict:
        """Make the phase run and verify (each test stands alone, whatever ran before it)."""
        _, status = self.json("status")
        if status.get("phase") != phase or not status.get("verified_at"):
            code, result = self.json("deploy", phase)
            assert code == 0, result
            _, status = self.json("status")
        return status

    def served(self, path: str = "/health") -> dict:
        _, status = self.json("sandbox", "status")
        with urllib.request.urlopen(status["front_door_url"] + path, timeout=10, context=trust(status)) as answer:
            return json.loads(answer.read())


def trust(sandbox_status: dict) -> ssl.SSLContext:
    """What a client of the sandbox trusts: its own certificate (``ca_file``), and nothing else."""
    return ssl.create_default_context(cafile=sandbox_status["ca_file"])


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    require_engine()
    root = tmp_path_factory.mktemp("project")
    for name in ("service", "images"):
        (root / name).symlink_to(REPO / name)
    shutil.copytree(REPO / "phases", root / "phases")
    document = yaml.safe_load((REPO / "snailtrail.yaml").read_text())
    (root / "snailtrail.yaml").write_text(yaml.safe_dump(document))
    project = Project(root)
    up = project.run("sandbox", "up", timeout=120)
    assert up.returncode == 0, up.stderr
    try:
        yield project
    finally:
        project.run("sandbox", "down", timeout=120)
