"""A deploy killed (SIGKILL, as a crash or a lost CI runner) at each stage, native and rolling, recovered with only
what the CLI then says: `status` (the service deployment in flight and its commands, the lock, whether what runs
is verified), `abort`, `rollback`, and `unlock --force` where the lock's message names it.

docs/operations.md's recovery table is this test's record (``record``, printed with -s): where the kill landed
and which commands recovered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from snailtrail.sandbox.native_deployments import STAGES
from tests.conftest import BASE_IMAGE
from tests.e2e.conftest import Project

pytestmark = pytest.mark.docker

CANARY = {
    "kind": "canary",
    "canary": {"percent": 10, "bake_minutes": 8},
    "bake_minutes": 8,
    "judge_timeout_minutes": 30,
    "gates": {"allow_no_traffic": True},
}


def start_deploy(project: Project, phase: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "snailtrail",
            "--config",
            str(project.root / "snailtrail.yaml"),
            "deploy",
            phase,
            *extra,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        text=True,
        env=os.environ | {"SNAILTRAIL_BASE_IMAGE": BASE_IMAGE},
    )


def kill_at_stage(project: Project, process: subprocess.Popen[str], stage: str) -> str:
    """SIGKILL the deploy once its service deployment is at ``stage`` or later: the stage it died in."""
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        _, status = project.json("status")
        now = (status.get("service_deployment") or {}).get("stage")
        if now in STAGES and STAGES.index(now) >= STAGES.index(stage):
            process.send_signal(signal.SIGKILL)
            process.wait()
            return now
        time.sleep(0.2)
    raise AssertionError(f"the deploy never reached {stage} (exit {process.poll()})")


def recover(project: Project) -> list[str]:
    """Do what the CLI says until a verified revision runs with no deployment in flight: the commands run."""
    ran: list[str] = []
    for _ in range(12):
        _, status = project.json("status")
        in_flight = status.get("service_deployment")
        if in_flight and in_flight["status"] in ("PENDING", "IN_PROGRESS"):
            command = in_flight["abort"]  # what `status` prints: snailtrail abort --env ENV
            result = project.run(*command.split()[1:])
            assert result.returncode in (0, 1), result.stderr  # 1: ECS finished or rolled back meanwhile
            ran.append(command)
            continue
        if in_flight:  # ECS is rolling it back by itself (a hook's timeout) or at our request
            time.sleep(1)
            continue
        if not status.get("verified_at"):
            result = project.run("rollback")
            if result.returncode == 4:  # the killed deploy's lock: its message says how to remove a dead holder's
                assert "unlock --force" in result.stderr, result.stderr
                assert project.run("unlock", "--force").returncode == 0
                ran.append("snailtrail unlock --force")
                continue
            assert result.returncode == 0, result.stderr
            ran.append("snailtrail rollback")
            continue
        return ran
    raise AssertionError(f"not recovered after {ran}")


def deploy_after(project: Project, phase: str) -> list[str]:
    """The next deploy goes through, after `unlock --force` when the killed deploy's lock still stands."""
    result = project.run("deploy", phase)
    if result.returncode == 4:
        assert "unlock --force" in result.stderr, result.stderr
        assert project.run("unlock", "--force").returncode == 0
        result = project.run("deploy", phase)
        assert result.returncode == 0, result.stderr
        return ["snailtrail unlock --force"]
    assert result.returncode == 0, result.stderr
    return []


def record(strategy: str, stage: str, ran: list[str]) -> None:
    """The row docs/operations.md's recovery table copies (shown with pytest -s)."""
    print(f"| {strategy} | {stage} | {'; '.join(ran) or 'nothing: ECS finished or rolled back by itself'} |")


@pytest.mark.parametrize(
    "stage",
    ["SCALE_UP", "POST_TEST_TRAFFIC_SHIFT", "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME"],
)
def test_a_native_deploy_killed_at_each_stage_is_recovered_with_what_the_cli_says(project: Project, stage: str) -> None:
    before = project.ensure("phase-1")
    manifest = project.root / "phases" / "phase-2-hybrid.yaml"
    original = manifest.read_text()
    document = yaml.safe_load(original)
    document["strategy"] = CANARY
    manifest.write_text(yaml.safe_dump(document))
    try:
        died_in = kill_at_stage(project, start_deploy(project, "phase-2"), stage)
        ran = recover(project)
    finally:
        manifest.write_text(original)
    _, status = project.json("status")
    assert status["service_deployment"] is None and status["verified_at"]
    # Back on what verified: phase-1 (rolled back) or phase-2 when ECS had already finished and it verifies.
    assert status["phase"] in ("phase-1", "phase-2")
    if status["phase"] == "phase-1":
        assert status["task_definition"] == before["task_definition"]
    ran += deploy_after(project, "phase-1")
    record("canary", died_in, ran)


@pytest.mark.parametrize("moment", ["rollout", "verify"])
def test_a_rolling_deploy_killed_mid_rollout_is_recovered_with_what_the_cli_says(project: Project, moment: str) -> None:
    before = project.ensure("phase-1")
    process = start_deploy(project, "phase-2", "--strategy", "rolling")
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        _, status = project.json("status")
        changed = status["task_definition"] != before["task_definition"]
        if changed and (moment == "rollout" or status["running"] >= status["desired"]):
            break
        time.sleep(0.2)
    process.send_signal(signal.SIGKILL)
    process.wait()
    ran = recover(project)
    _, status = project.json("status")
    assert status["service_deployment"] is None and status["verified_at"]
    ran += deploy_after(project, "phase-1")
    record("rolling", moment, ran)
