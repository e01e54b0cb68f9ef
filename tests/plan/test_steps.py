"""The steps' declared AWS calls against the calls each step makes in the sandbox: plan cannot drift from deploy.

Each scenario deploys through the CLI; every call the context's clients make while a step's action runs
(on the deploy's own thread: the lock's renewals are the run's, not a step's) is attributed to that step.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from snailtrail.plan.steps import Step
from tests.conftest import Sandbox
from tests.run.test_native_deploy import GOOD_1, GOOD_2, use_strategy

CANARY = {
    "kind": "canary",
    "canary": {"percent": 10, "bake_minutes": 1},
    "bake_minutes": 1,
    "gates": {"allow_no_traffic": True},
}
READ_ONLY_PREFIXES = ("Describe", "List", "Get")


class StepCalls:
    """(step, the calls it made), in the order the steps ran."""

    def __init__(self) -> None:
        self.ran: list[tuple[Step, list[str]]] = []
        self._current: tuple[int, list[str]] | None = None

    def before_call(self, model: Any, **_: Any) -> None:
        current = self._current
        if current is not None and current[0] == threading.get_ident():
            current[1].append(f"{model.service_model.service_name}.{model.name}")

    def running(self, step: Step) -> None:
        calls: list[str] = []
        self.ran.append((step, calls))
        self._current = (threading.get_ident(), calls)

    def done(self) -> None:
        self._current = None


@pytest.fixture
def step_calls(monkeypatch: pytest.MonkeyPatch) -> StepCalls:
    from snailtrail.aws import session
    from snailtrail.run.executor import DeployRun

    recorder = StepCalls()
    post_init, perform = session.AwsClients.__post_init__, DeployRun.perform

    def hooked(self: session.AwsClients) -> None:
        post_init(self)
        self._session.events.register("before-call", recorder.before_call)

    def recorded(self: DeployRun, step: Step) -> str:
        recorder.running(step)
        try:
            return perform(self, step)
        finally:
            recorder.done()

    monkeypatch.setattr(session.AwsClients, "__post_init__", hooked)
    monkeypatch.setattr(DeployRun, "perform", recorded)
    return recorder


# The run's bookkeeping, not a step's own (snailtrail/plan/steps.py): the trail's one PutItem an event, which a
# native step writes as it sees each stage and hook. No step writes the state table itself.
TRAIL_WRITE = "dynamodb.PutItem"


def undeclared(recorder: StepCalls) -> list[tuple[str, set[str]]]:
    """Each step that made a call it does not declare, with those calls."""
    return [
        (step.name, set(calls) - set(step.api_calls) - {TRAIL_WRITE})
        for step, calls in recorder.ran
        if set(calls) - set(step.api_calls) - {TRAIL_WRITE}
    ]


def declared_changes_not_made(recorder: StepCalls) -> list[tuple[str, set[str]]]:
    """Each step that declares a change (any call but a read) it did not make, with those changes."""
    missing = []
    for step, calls in recorder.ran:
        changes = {c for c in step.api_calls if not c.split(".", 1)[1].startswith(READ_ONLY_PREFIXES)}
        if changes - set(calls):
            missing.append((step.name, changes - set(calls)))
    return missing


def test_rolling_creates_updates_and_reuses_make_only_the_calls_their_steps_declare_and_every_change(
    sandbox: Sandbox, step_calls: StepCalls
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-1", GOOD_2).exit_code == 0
    assert sandbox.deploy("phase-1", GOOD_2).exit_code == 0  # the same image again: its revision is reused

    assert [step.name for step, _ in step_calls.ran] == [
        *["register", "create", "wait", "verify", "mark"],
        *["register", "update", "wait", "verify", "mark"],
        *["register", "update", "wait", "verify", "mark"],
    ]
    assert undeclared(step_calls) == []
    assert declared_changes_not_made(step_calls) == []
    reused = step_calls.ran[10]
    assert reused[0].api_calls == () and reused[1] == []


def test_before_deploy_tasks_make_only_the_calls_their_steps_declare_on_a_first_deploy_and_after(
    sandbox: Sandbox, step_calls: StepCalls
) -> None:
    migrate = {"name": "migrate", "command": ["sh", "-c", "echo migrated"]}
    sandbox.edit_phase("phase-1", lambda document: document.update(before_deploy=[migrate]))
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0  # no service yet: its network from the configuration
    assert sandbox.deploy("phase-1", GOOD_2).exit_code == 0  # the service's own network

    assert [step.name for step, _ in step_calls.ran] == [
        *["register", "before-migrate", "create", "wait", "verify", "mark"],
        *["register", "before-migrate", "update", "wait", "verify", "mark"],
    ]
    assert undeclared(step_calls) == []
    assert declared_changes_not_made(step_calls) == []


def test_a_native_canary_runs_the_steps_its_dry_run_printed_making_only_the_calls_they_declare_and_every_change(
    sandbox: Sandbox, step_calls: StepCalls
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, CANARY)
    planned = sandbox.deploy("phase-1", GOOD_2, "--dry-run", "--json").json()["steps"]
    step_calls.ran.clear()

    result = sandbox.deploy("phase-1", GOOD_2)

    assert result.exit_code == 0, result.stderr
    assert planned == [step.to_json() for step, _ in step_calls.ran]  # the very objects, calls and all
    assert [step.name for step, _ in step_calls.ran] == ["register", "update", "test", "production", "bake", "mark"]
    assert undeclared(step_calls) == []
    assert declared_changes_not_made(step_calls) == []


def every_kind() -> list[Step]:
    from snailtrail.plan import steps

    return [
        steps.BuildStep("build"),
        steps.SmokeStep("smoke"),
        steps.PushStep("push", ecr=True),
        steps.PushStep("push", ecr=False),
        steps.RegisterStep("register"),
        steps.RegisterStep("register", reuse="arn:aws:ecs:eu-west-1:123456789012:task-definition/shine:1"),
        steps.BeforeDeployStep("before", task="migrate", command=("true",)),
        steps.BeforeDeployStep("before", task="migrate", command=("true",), service_exists=False),
        steps.CreateServiceStep("create"),
        steps.UpdateServiceStep("update"),
        steps.WaitStep("wait"),
        steps.CriteriaStep("verify"),
        steps.CriteriaStep("verify", alarms=True),
        steps.NativeUpdateStep("update"),
        steps.TestStep("test"),
        steps.TestStep("test", hold=True),
        steps.HoldStep("hold"),
        steps.ProductionStep("production"),
        steps.ProductionStep("production", alarms=True),
        steps.BakeStep("bake"),
        steps.BakeStep("bake", alarms=True),
        steps.MarkStep("mark"),
    ]


def test_every_declared_call_is_an_operation_of_its_aws_service() -> None:
    import botocore.session

    session = botocore.session.get_session()
    unknown = []
    for step in every_kind():
        for call in step.api_calls:
            service, operation = call.split(".", 1)
            if operation not in session.get_service_model(service).operation_names:
                unknown.append(f"{step.name}: {call}")
    assert unknown == []


def test_a_step_is_marked_mutating_exactly_when_it_declares_a_change() -> None:
    """`plan` tells the operator which steps change AWS by this flag: it must agree with the calls."""
    wrong = [
        (step.name, step.mutating, step.api_calls)
        for step in every_kind()
        if step.mutating != any(not c.split(".", 1)[1].startswith(READ_ONLY_PREFIXES) for c in step.api_calls)
    ]
    assert wrong == []
