"""A run killed before it could write its end (SIGKILL, a lost machine) is closed as interrupted by the next
command that takes the deploy lock, instead of staying "in progress" in the trail forever."""

from __future__ import annotations

from snailtrail.state.trail import Event
from tests.conftest import Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"


def killed_deploy(sandbox: Sandbox, phase: str) -> None:
    """What a deploy killed after its first steps leaves in the trail: a start, a step, no end."""
    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.ui import Reporter

    trail = Context(load_settings(str(sandbox.config)), Reporter(quiet=True)).trail
    trail.emit(Event(kind="deploy.started", run_id="killedrun001", phase=phase, detail=f"deploy {phase} to unit"))
    trail.emit(Event(kind="step", run_id="killedrun001", phase=phase, detail="register", ok=True))


def test_the_next_deploy_closes_a_killed_run_as_interrupted(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    killed_deploy(sandbox, "phase-2")
    phases = {p["name"]: p["state"] for p in sandbox.run("status", "--json").json()["phases"]}
    assert phases["phase-2"] == "in progress"
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    events = [e for e in sandbox.run("trail", "--format", "json").json()["events"] if e["run_id"] == "killedrun001"]
    assert [e["kind"] for e in events] == ["deploy.started", "step", "deploy.interrupted", "deploy.finished"]
    assert "closed as interrupted by `deploy phase-1`" in events[-1]["detail"] and events[-1]["ok"] is False
    phases = {p["name"]: p["state"] for p in sandbox.run("status", "--json").json()["phases"]}
    assert phases["phase-2"] == "interrupted"
    markdown = sandbox.run("trail").stdout
    assert "deploy phase-2 to unit — interrupted" in markdown


def test_finished_runs_are_left_as_they_are(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    before = sandbox.run("trail", "--format", "json").json()["events"]
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    after = sandbox.run("trail", "--format", "json").json()["events"]
    assert not [e for e in after if e["kind"].endswith(".interrupted")]
    assert after[: len(before)] == before
