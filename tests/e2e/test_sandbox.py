"""End to end with real containers: the sandbox daemon, real images, the front door.

Skipped, with the reason, when no Docker engine or no base image is available (scripts/test.sh
provides both); under CI=true those skips fail (tests/conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import BASE_IMAGE, REPO, require_engine

pytestmark = pytest.mark.docker


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
        with urllib.request.urlopen(status["front_door_url"] + path, timeout=10) as answer:
            return json.loads(answer.read())


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


def test_phase_1_then_phase_2_and_the_front_door_serves_the_new_version(project: Project) -> None:
    code, first = project.json("deploy", "phase-1")
    assert code == 0, first
    assert project.served()["phase"] == "simple"
    code, second = project.json("deploy", "phase-2")
    assert code == 0, second
    assert [s["name"] for s in second["steps"]] == [
        "build",
        "smoke",
        "push",
        "register",
        "update",
        "wait",
        "verify",
        "mark",
    ]
    assert "@sha256:" in next(s["detail"] for s in second["steps"] if s["name"] == "push")
    assert project.served()["phase"] == "hybrid"
    assert project.served("/ml/status")["mode"] in ("basic", "enhanced")


@pytest.mark.parametrize("phase", ["phase-3", "phase-4"])
def test_phases_3_and_4_run_the_enhanced_analyzer_with_models_from_the_sandbox_s3(project: Project, phase: str) -> None:
    project.ensure(phase)
    ml = project.served("/ml/status")
    assert ml["phase"] == {"phase-3": "enhanced", "phase-4": "full"}[phase]
    assert ml["mode"] == "enhanced", ml["reasons"]
    assert ml["components"]["s3"]["reachable"] is True, ml["components"]["s3"]
    models = ml["components"]["models"]
    assert models and {model["source"] for model in models} == {"s3"}, models


def test_broken_image_is_caught_by_smoke_before_the_service_changes(project: Project) -> None:
    before = project.ensure("phase-2")
    code, result = project.json("deploy", "phase-2", "--build-arg", "SHINE_DRILL_WRONG_PORT=8080")
    assert code == 1
    assert not result["rolled_back"]
    smoke = next(s for s in result["steps"] if s["name"] == "smoke")
    assert not smoke["ok"] and "listens on 8080" in smoke["detail"] and "container port 8000" in smoke["detail"]
    assert "register" not in [s["name"] for s in result["steps"]]
    _, after = project.json("status")
    assert after["task_definition"] == before["task_definition"]


def test_broken_image_without_smoke_is_rolled_back_and_the_previous_phase_served(project: Project) -> None:
    before = project.ensure("phase-2")
    code, result = project.json("deploy", "phase-3", "--build-arg", "SHINE_DRILL_WRONG_PORT=8080", "--skip-smoke")
    assert code == 1, result
    assert result["rolled_back"] and result["rolled_back_to"] == before["task_definition"]
    assert "failed ELB health checks" in result["message"]
    assert project.served()["phase"] == "hybrid"
    _, trail = project.json("trail")
    kinds = [e["kind"] for e in trail["events"]]
    assert "rollback.finished" in kinds and kinds[-1] == "deploy.finished"


def test_sigterm_during_the_rollout_rolls_back_and_exits_130(project: Project) -> None:
    import signal
    import time

    before = project.ensure("phase-2")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snailtrail",
            "--config",
            str(project.root / "snailtrail.yaml"),
            "deploy",
            "phase-3",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"SNAILTRAIL_BASE_IMAGE": BASE_IMAGE},
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _, status = project.json("status")
        if status["task_definition"] != before["task_definition"]:
            break  # the service now wants the new, unverified revision
        time.sleep(0.5)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert json.loads(out)["rolled_back_to"] == before["task_definition"]
    _, after = project.json("status")
    assert after["task_definition"] == before["task_definition"] and after["verified_at"]


def test_a_broken_canary_is_aborted_and_only_the_requests_it_took_fail(project: Project) -> None:
    """A revision healthy to the load balancer and failing its users, at 10 %, under live traffic."""
    import threading
    import urllib.error

    from snailtrail.sandbox.front_door import TARGET_GROUP_HEADER

    project.ensure("phase-1")
    manifest = project.root / "phases" / "phase-1-simple.yaml"
    original = manifest.read_text()
    document = yaml.safe_load(original)
    document["container"]["environment"]["SHINE_DRILL_FAIL_REQUESTS"] = "1"
    document["strategy"] = {
        "kind": "canary",
        "steps": [{"weight": 10, "bake_s": 60}],
        "final_bake_s": 5,
        "gates": {"min_requests": 10},
    }
    manifest.write_text(yaml.safe_dump(document))
    _, sandbox = project.json("sandbox", "status")
    answers: list[tuple[int, str]] = []  # (status, target group), in the order they came
    stop = threading.Event()

    def load() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(sandbox["front_door_url"] + "/ready", timeout=5) as answer:
                    answers.append((answer.status, answer.headers.get(TARGET_GROUP_HEADER, "")))
            except urllib.error.HTTPError as error:
                answers.append((error.code, error.headers.get(TARGET_GROUP_HEADER, "")))
            except OSError:
                answers.append((0, ""))

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        code, result = project.json("deploy", "phase-1")
    finally:
        stop.set()
        thread.join()
        manifest.write_text(original)
    assert code == 1, result
    assert "aborted (traffic error rate)" in result["message"], result
    # The gate aborted, the listener went back to the old colour, and only then did the deploy end.
    _, trail = project.json("trail")
    assert [e["kind"] for e in trail["events"]][-3:] == ["rollout.aborted", "traffic.restored", "deploy.finished"]
    # The broken colour failed every request it took; the old colour failed none.
    on_canary = [status for status, group in answers if group == "shine-tg-green"]
    assert on_canary and set(on_canary) == {500}
    assert {status for status, group in answers if group == "shine-tg"} == {200}
    # Once the listener was restored, every request goes to the old colour.
    for _ in range(20):
        with urllib.request.urlopen(sandbox["front_door_url"] + "/ready", timeout=5) as answer:
            assert answer.status == 200 and answer.headers.get(TARGET_GROUP_HEADER) == "shine-tg"
    _, status = project.json("status")
    assert status["service"] == "shine" and status["verified_at"]


@pytest.mark.parametrize(
    "drill, check",
    [
        ("sg-rule", "security groups"),
        ("route-table", "network path"),
        ("domain", "dns ownership"),
        ("service", "service active"),
        ("port", "port alignment"),
    ],
)
def test_each_drill_fails_verify_with_its_check_and_heal_passes(project: Project, drill: str, check: str) -> None:
    project.ensure("phase-2")
    broken = project.run("sandbox", "break", drill)
    assert broken.returncode == 0, broken.stderr
    code, report = project.json("verify")
    failing = {c["name"] for c in report["checks"] if c["status"] == "fail"}
    assert code == 1 and check in failing, report
    healed = project.run("sandbox", "heal")
    assert healed.returncode == 0, healed.stderr
    code, report = project.json("verify", "--only", check)
    assert code == 0, report


def test_sandbox_status_and_down_remove_exactly_its_containers(project: Project) -> None:
    import docker

    _, status = project.json("sandbox", "status")
    for key in ("running", "aws_endpoint_url", "front_door_url", "dns_server", "registry", "docker", "pids"):
        assert key in status
    assert status["running"] and status["docker"] and status["pids"]["daemon"] > 0
    assert status["ready"], status["readiness"]
    assert {part for part, entry in status["readiness"].items() if entry["ok"]} == {
        "engine",
        "registry",
        "seed",
        "task_aws_api",
    }
    state = json.loads((project.root / ".snailtrail" / "sandbox-sandbox.json").read_text())
    label = f"snailtrail.sandbox={state['sandbox_id']}"
    client = docker.from_env()
    assert client.containers.list(filters={"label": label})
    down = project.run("sandbox", "down", timeout=120)
    assert down.returncode == 0
    assert not client.containers.list(all=True, filters={"label": label})
    _, status = project.json("sandbox", "status")
    assert status["running"] is False
