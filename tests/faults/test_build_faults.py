"""Faults outside AWS: the registry refusing a push, the engine vanishing mid-build, a flapping app."""

from __future__ import annotations

import pytest

from snailtrail.errors import DeployFailed
from snailtrail.run import images
from tests.conftest import Sandbox
from tests.faults.test_aws_faults import assert_consistent

GOOD_1 = "fake.local/shine:phase-1-good"


def build_without_docker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(images, "build", lambda *a, **k: images.BuiltImage("shine:phase-2-test", "sha256:" + "0" * 64))


def test_registry_push_failure_changes_nothing(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    build_without_docker(monkeypatch)

    def refused(*args: object, **kwargs: object) -> None:
        raise DeployFailed("push to 127.0.0.1:5000/shine:phase-2 failed: denied", fix="check the registry")

    monkeypatch.setattr(images, "push", refused)
    monkeypatch.setattr(images, "registry_host", lambda *a: ("127.0.0.1:5000", None))
    result = sandbox.run("deploy", "phase-2", "--skip-smoke", "--yes", "--json")
    assert result.exit_code == 1 and not result.json()["rolled_back"]
    assert "(the service was not changed)" in result.json()["message"]
    assert_consistent(sandbox, result)
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")


def test_engine_vanishing_mid_build_is_a_clear_failure(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0

    class EngineGone(Exception):
        __module__ = "docker.errors"

    def vanished(*args: object, **kwargs: object) -> None:
        raise EngineGone("Error while fetching server API version: connection refused")

    monkeypatch.setattr(images, "build", vanished)
    result = sandbox.run("deploy", "phase-2", "--skip-smoke", "--yes", "--json")
    assert result.exit_code == 1
    body = result.json()
    assert body["steps"][0]["name"] == "build" and "Docker engine" in body["steps"][0]["detail"]
    assert_consistent(sandbox, result)


def test_flapping_health_endpoint_is_never_a_false_success(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", SHINE_DRILL_HEALTH="flapping")
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-flap", "--json", "--timeout", "10")
    # Its health checks never pass twice in a row: the rollout never completes, phase 1 comes back.
    body = result.json()
    assert result.exit_code == 1 and body["rolled_back"]
    assert [(step["name"], step["ok"]) for step in body["steps"]][-1] == ("wait", False)
    assert body["rolled_back_to"].endswith("shine:1")
    assert_consistent(sandbox, result)
