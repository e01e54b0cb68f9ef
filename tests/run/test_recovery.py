"""What a deploy that failed or was interrupted does next, and what it records and says (snailtrail/run/recovery.py).

The way back itself (rollback_choice, rollback_to, ECS's rollback of a native deployment) has its own tests; here
each is given its outcome, and these tests pin what recovery makes of it: the result an operator reads, its exit
code, the trail's events. End to end, in the sandbox: tests/commands/test_deploy.py, tests/faults/."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.errors import SnailtrailError
from snailtrail.plan.steps import GateFailed, StepFailed
from snailtrail.run import recovery
from snailtrail.run.native_deploy import EcsRolledBack
from snailtrail.run.run_result import RunResult, StepRecord
from snailtrail.state.history import Candidate, RollbackChoice

NEW = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:7"
OLD = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:5"
NATIVE = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shine/shine/d7"


class Trail:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def emit(self, kind: str, phase: str | None, detail: str = "", **extra: Any) -> None:
        self.events.append({"kind": kind, "phase": phase, "detail": detail, **extra})

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]


class Native:
    """The native deployment this run started, whose rollback ECS makes (or cannot)."""

    def __init__(self, arn: str | None = NATIVE, fails: Exception | None = None) -> None:
        self.arn, self.stage, self.fails = arn, "PRODUCTION_TRAFFIC_SHIFT", fails
        self.asked: list[tuple[str, str]] = []

    def roll_back(self, gate: str, reason: str) -> str:
        self.asked.append((gate, reason))
        if self.fails:
            raise self.fails
        return "production traffic on the old revision 2.00 s after the decision"


class Run:
    def __init__(self, monkeypatch: pytest.MonkeyPatch, rollback: bool = True) -> None:
        self.trail = Trail()
        self.warned: list[str] = []
        self.ops = SimpleNamespace(run=self.trail)
        self.ctx = SimpleNamespace(
            reporter=SimpleNamespace(warn=self.warned.append),
            history=SimpleNamespace(get=lambda arn: SimpleNamespace(arn=arn, phase="phase-1")),
        )
        self.plan = SimpleNamespace(
            phase=SimpleNamespace(name="phase-2"),
            options=SimpleNamespace(rollback=rollback, desired_count=None),
            service={"taskDefinition": OLD},
        )
        self.result = RunResult(ok=False, phase="phase-2", environment="unit", task_definition=NEW)
        self.rollbacks: list[tuple[Any, ...]] = []
        self.monkeypatch = monkeypatch

    def choice(self, target: str | None = OLD, *, raises: Exception | None = None, blocked: bool = False) -> None:
        """What history chooses to roll back to."""
        candidates = (
            [Candidate(target, "phase-1", "2026-12-01", None, True, "verified", default=True)] if target else []
        )
        if blocked:
            reason = "runs against schema 2-3, not 4"
            candidates = [Candidate(OLD, "phase-1", "2026-12-01", None, False, reason, schema="2-3")]

        def rollback_choice(ctx: Any, current: str, describe_all: bool) -> RollbackChoice:
            assert (ctx, current, describe_all) == (self.ctx, NEW, False)
            if raises:
                raise raises
            return RollbackChoice(current=NEW, current_since=None, candidates=candidates, schema=4)

        self.monkeypatch.setattr(recovery, "rollback_choice", rollback_choice)

    def rollback_verifies(self, ok: bool = True) -> None:
        """What the rollback to the target does: verified, or failed with its own message."""

        def rollback_to(ctx: Any, ops: Any, target: Any, desired: Any, result_for: Any, reason: str) -> RunResult:
            assert (ctx, ops) == (self.ctx, self.ops)  # this run's context and service layer (its trail)
            self.rollbacks.append((target.arn, desired, result_for, reason))
            checks = [SimpleNamespace(name="health")]
            return RunResult(ok=ok, phase="phase-1", environment="unit", checks=checks, message="5xx at 40%")

        self.monkeypatch.setattr(recovery, "rollback_to", rollback_to)

    def failed(self, failure: SnailtrailError, *, touched: bool = True, deployment: Native | None = None) -> None:
        recovery.after_failure(self.ctx, self.ops, self.plan, self.result, failure, touched, deployment)

    def interrupted(self, *, touched: bool = True, deployment: Native | None = None) -> None:
        recovery.after_interrupt(self.ctx, self.ops, self.plan, self.result, touched, deployment, "wait")


def event(kind: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A trail event of the failed deploy of phase-2, which failed (ok False)."""
    return {"kind": kind, "phase": "phase-2", "detail": detail, "ok": False, **extra}


@pytest.fixture
def run(monkeypatch: pytest.MonkeyPatch) -> Run:
    return Run(monkeypatch)


FAILURE = StepFailed("rollout failed: circuit breaker", fix="read the stopped reasons")


# -- a rolling deploy that failed -------------------------------------------------------------------
def test_a_failed_rolling_deploy_rolls_back_to_the_verified_revision_and_says_it_verifies(run: Run) -> None:
    run.choice()
    run.rollback_verifies()

    run.failed(FAILURE)

    r = run.result
    assert r.message == (f"rollout failed: circuit breaker; rolled back to verified {OLD} (phase-1), which verifies")
    assert r.fix == "read the stopped reasons"
    assert (r.rolled_back, r.rolled_back_to, r.needs_human, r.exit_code) == (True, OLD, False, 1)
    assert [c.name for c in r.checks] == ["health"]
    assert run.rollbacks == [(OLD, None, r, "the deploy of phase-2 failed")]
    assert run.trail.events == [
        {
            "kind": "deploy.failed",
            "phase": "phase-2",
            "detail": "rollout failed: circuit breaker",
            "ok": False,
            "task_definition": NEW,
            "data": {"fix": "read the stopped reasons"},
        }
    ]


def test_the_rollback_of_a_failed_deploy_keeps_the_operators_desired_count(run: Run) -> None:
    run.choice()
    run.rollback_verifies()
    run.plan.options.desired_count = 3  # --desired-count 3

    run.failed(FAILURE)

    assert run.rollbacks == [(OLD, 3, run.result, "the deploy of phase-2 failed")]


def test_a_rollback_that_does_not_verify_either_needs_a_human(run: Run) -> None:
    run.choice()
    run.rollback_verifies(ok=False)

    run.failed(FAILURE)

    r = run.result
    assert r.message == f"rollout failed: circuit breaker; the rollback to {OLD} failed too: 5xx at 40%"
    assert r.fix == "the service needs a human now: `snailtrail status` shows what runs"
    assert (r.rolled_back, r.needs_human, r.exit_code) == (True, True, 3)


def test_a_failure_before_the_service_changed_leaves_it_as_it_was(run: Run) -> None:
    run.failed(FAILURE, touched=False)

    assert run.result.message == "rollout failed: circuit breaker (the service was not changed)"
    assert not run.result.rolled_back and run.result.exit_code == 1
    assert run.trail.kinds() == ["deploy.failed"]


def test_no_rollback_leaves_the_service_on_the_unverified_revision_and_says_so(monkeypatch) -> None:
    run = Run(monkeypatch, rollback=False)

    run.failed(FAILURE)

    assert run.result.message == (
        f"rollout failed: circuit breaker (--no-rollback: the service stays on unverified {NEW})"
    )
    assert not run.result.rolled_back and run.result.exit_code == 1


def test_with_no_verified_revision_to_return_to_the_service_needs_a_human(run: Run) -> None:
    run.choice(target=None)

    run.failed(FAILURE)

    r = run.result
    assert r.message == (
        "rollout failed: circuit breaker; no verified deployment exists to roll back to: the service runs "
        f"unverified {NEW}"
    )
    assert r.fix == "fix the cause above and deploy again, or scale the service to 0"
    assert (r.rolled_back, r.needs_human, r.exit_code) == (False, True, 3)
    assert run.trail.kinds() == ["deploy.failed", "rollback.impossible"]
    assert run.trail.events[-1] == event("rollback.impossible", r.message, task_definition=NEW)


def test_when_the_schema_rules_out_every_verified_revision_the_way_forward_is_said(run: Run) -> None:
    from snailtrail.run.rollback_choice import way_forward

    run.choice(blocked=True)

    run.failed(FAILURE)

    r = run.result
    assert r.message.startswith("rollout failed: circuit breaker; no verified revision can run against the database's")
    assert r.message.endswith(f": the service runs unverified {NEW}")
    assert r.fix == way_forward(4)
    assert r.needs_human and run.trail.kinds() == ["deploy.failed", "rollback.impossible"]
    assert run.trail.events[-1] == event("rollback.impossible", r.message, task_definition=NEW)


def test_a_rollback_target_that_cannot_be_read_needs_a_human_and_says_why(run: Run) -> None:
    run.choice(raises=RuntimeError("the trail's table is unreachable"))

    run.failed(FAILURE)

    r = run.result
    assert r.message == (
        "rollout failed: circuit breaker; the rollback target could not be found: "
        "unexpected RuntimeError: the trail's table is unreachable"
    )
    assert r.fix == "the service runs an unverified revision: `snailtrail status`, then `snailtrail rollback`"
    assert (r.needs_human, r.exit_code) == (True, 3)
    assert run.trail.kinds() == ["deploy.failed", "rollback.impossible"]
    assert run.trail.events[-1] == event("rollback.impossible", r.message, task_definition=NEW)


def test_an_interrupt_during_the_rollback_of_a_failure_is_written_and_stops_it(run: Run, monkeypatch) -> None:
    run.choice()

    def interrupted(*args: Any, **kwargs: Any) -> RunResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(recovery, "rollback_to", interrupted)

    with pytest.raises(KeyboardInterrupt):
        run.failed(FAILURE)

    assert run.trail.kinds() == ["deploy.failed", "rollback.interrupted"]
    assert run.trail.events[-1] == event(
        "rollback.interrupted",
        "interrupted during the rollback: the service may be on an unverified revision; `snailtrail rollback` "
        "finishes it",
        task_definition=NEW,
    )


# -- a native deployment that failed ----------------------------------------------------------------
def test_a_failed_gate_rolls_the_native_deployment_back_through_ecs_naming_the_gate(run: Run) -> None:
    native = Native()

    run.failed(GateFailed("traffic error rate", "12% errors", fix="read the logs"), deployment=native)

    r = run.result
    assert native.asked == [("traffic error rate", "12% errors")]
    assert r.message == (
        "12% errors; rolled back (traffic error rate): production traffic on the old revision 2.00 s after the decision"
    )
    assert (r.rolled_back, r.rolled_back_to, r.needs_human, r.exit_code) == (True, OLD, False, 1)
    assert run.trail.events == [
        event("deploy.failed", "12% errors", data={"fix": "read the logs"}),
        event(
            "rollout.aborted",
            "traffic error rate: 12% errors",
            task_definition=NEW,
            data={"gate": "traffic error rate", "service_deployment": NATIVE, "stage": "PRODUCTION_TRAFFIC_SHIFT"},
        ),
    ]


def test_a_failed_step_of_a_native_deploy_is_named_as_what_decided_the_rollback(run: Run) -> None:
    native = Native()
    run.result.steps.append(StepRecord("verify", False, 1.0, ""))

    run.failed(FAILURE, deployment=native)

    assert native.asked == [("verify step", "rollout failed: circuit breaker")]
    run2 = Run(run.monkeypatch)
    run2.failed(FAILURE, deployment=Native())  # no step recorded yet
    assert run2.trail.events[1]["data"]["gate"] == "deploy step"


def test_a_rollback_ecs_made_by_itself_is_written_as_ecs(run: Run) -> None:
    run.failed(EcsRolledBack("ECS rolled the deployment back: circuit breaker (3 failed tasks)"), deployment=Native())

    assert run.trail.kinds() == ["deploy.failed", "ecs.rolled-back"]
    assert run.result.message.endswith(
        "; ECS rolled back: production traffic on the old revision 2.00 s after the decision"
    )


def test_a_native_deploy_that_started_no_deployment_has_nothing_for_ecs_to_roll_back(run: Run) -> None:
    native = Native(arn=None)

    run.failed(FAILURE, deployment=native)

    assert native.asked == []
    assert run.result.message.endswith("; rolled back (deploy step): no service deployment started")


def test_a_native_rollback_ecs_could_not_make_needs_a_human_and_says_how_to_ask_again(run: Run) -> None:
    run.failed(GateFailed("health", "2 of 3 unhealthy"), deployment=Native(fails=RuntimeError("throttled")))

    r = run.result
    assert r.message == "2 of 3 unhealthy; the rollback did not complete: unexpected RuntimeError: throttled"
    assert r.fix == "`snailtrail status` shows the service deployment; `snailtrail abort` asks ECS again"
    assert (r.rolled_back, r.needs_human, r.exit_code) == (False, True, 3)
    assert run.trail.kinds() == ["deploy.failed", "rollout.aborted", "rollout.abort-failed"]
    assert run.trail.events[-1] == event("rollout.abort-failed", r.message)


# -- an interrupted deploy --------------------------------------------------------------------------
def test_an_interrupt_before_the_service_changed_has_nothing_to_undo(run: Run) -> None:
    run.interrupted(touched=False)

    r = run.result
    state = "interrupted before the service was changed: nothing to undo (in the wait step)"
    assert (r.message, r.fix) == (state, "snailtrail status shows what runs; snailtrail rollback recovers")
    assert (r.interrupted, r.rolled_back, r.exit_code) == (True, False, 130)
    assert run.warned == [state]
    assert run.trail.events == [
        {
            "kind": "deploy.interrupted",
            "phase": "phase-2",
            "detail": state,
            "ok": False,
            "task_definition": NEW,
            "data": {"step": "wait"},
        }
    ]


def test_an_interrupt_after_the_change_rolls_back_and_says_another_stops_it(run: Run) -> None:
    run.choice()
    run.rollback_verifies()

    run.interrupted()

    r = run.result
    state = f"interrupted with the service on unverified {NEW}: rolling back (in the wait step)"
    assert run.warned == [state + " (interrupt again to stop at once)"]
    assert r.message == f"{state}; rolled back to verified {OLD} (phase-1), which verifies"
    assert (r.interrupted, r.rolled_back, r.exit_code) == (True, True, 130)
    assert run.trail.kinds() == ["deploy.interrupted"]


def test_an_interrupt_with_no_rollback_says_how_to_return_to_the_verified_revision(monkeypatch) -> None:
    run = Run(monkeypatch, rollback=False)

    run.interrupted()

    state = (
        f"interrupted with the service on unverified {NEW} (--no-rollback); `snailtrail rollback` returns it to the "
        "last verified deployment (in the wait step)"
    )
    assert run.result.message == state and run.warned == [state]
    assert not run.result.rolled_back


def test_a_second_interrupt_abandons_the_rollback_and_says_how_to_finish_it(run: Run, monkeypatch) -> None:
    run.choice()

    def interrupted(*args: Any, **kwargs: Any) -> RunResult:
        raise KeyboardInterrupt

    monkeypatch.setattr(recovery, "rollback_to", interrupted)

    with pytest.raises(KeyboardInterrupt):
        run.interrupted()

    assert run.trail.kinds() == ["deploy.interrupted", "rollback.interrupted"]
    assert run.trail.events[-1] == event(
        "rollback.interrupted",
        "second interrupt: the rollback was abandoned; `snailtrail rollback` finishes it",
        task_definition=NEW,
    )


def test_an_interrupted_native_deploy_is_rolled_back_by_ecs(run: Run) -> None:
    native = Native()

    run.interrupted(deployment=native)

    r = run.result
    state = "interrupted in the wait step: ECS rolls the service deployment back"
    assert native.asked == [("interrupt", "interrupted in wait")]
    assert run.warned == [state]
    assert (
        r.message
        == f"{state}; rolled back (interrupt): production traffic on the old revision 2.00 s after the decision"
    )
    assert (r.interrupted, r.rolled_back, r.rolled_back_to, r.exit_code) == (True, True, OLD, 130)
    assert run.trail.kinds() == ["deploy.interrupted", "rollout.aborted"]
    assert run.trail.events[0] == {
        "kind": "deploy.interrupted",
        "phase": "phase-2",
        "detail": state,
        "ok": False,
        "task_definition": NEW,
        "data": {"step": "wait", "service_deployment": NATIVE},
    }
