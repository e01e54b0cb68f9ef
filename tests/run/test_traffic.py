"""`abort` and `promote` of the service deployment in flight (snailtrail/run/traffic.py), against ECS's answers as a
deployment moves on (scripted, the API reference's shapes): what each command asks ECS, writes in the trail and says.
The same commands run end to end against the sandbox's ECS in tests/run/test_native_deploy.py."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.errors import DeployFailed
from snailtrail.run.native_setup import PRODUCTION_STAGE, TEST_STAGE
from snailtrail.run.traffic import abort_rollout, promote_rollout
from snailtrail.state.trail import Event
from tests.run.test_native_deploy import ARN, HOOK, ScriptedEcs, answer


class Recorded:
    """The trail's events of the command's run."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def new_run_id(self) -> str:
        return "run-1"

    def emit(self, event: Event) -> Event:
        self.events.append(event)
        return event


class OneDeployment(ScriptedEcs):
    """ECS with one service, shine, and one deployment of it, ARN: it knows no other (ServiceNotFound,
    ServiceDeploymentNotFound), as the real one answers."""

    def __init__(self, script: list[dict[str, Any]], in_flight: bool) -> None:
        super().__init__(script)
        self.deploying = in_flight

    def in_flight_deployments(self, service: str) -> list[dict[str, Any]]:
        assert service == "shine", f"ServiceNotFoundException: {service}"
        found = super().in_flight_deployments(service)
        return found if self.deploying else []

    def service_deployment(self, arn: str) -> dict[str, Any]:
        assert arn == ARN, f"ServiceDeploymentNotFoundException: {arn}"
        return super().service_deployment(arn)

    def continue_deployment(self, arn: str, hook_id: str, action: str) -> None:
        assert arn == ARN, f"ServiceDeploymentNotFoundException: {arn}"
        super().continue_deployment(arn, hook_id, action)

    def stop_deployment(self, arn: str) -> None:
        assert arn == ARN, f"ServiceDeploymentNotFoundException: {arn}"
        super().stop_deployment(arn)


def context(script: list[dict[str, Any]], *, in_flight: bool = True) -> tuple[Any, ScriptedEcs, Recorded]:
    ecs, trail = OneDeployment(script, in_flight), Recorded()
    settings = SimpleNamespace(service=SimpleNamespace(name="shine"), environment_name="unit")
    return SimpleNamespace(ecs=ecs, settings=settings, trail=trail, default_poll_interval_s=0), ecs, trail


@pytest.fixture(autouse=True)
def operator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SNAILTRAIL_ACTOR", "ana")


def continued(ecs: ScriptedEcs) -> list[tuple[str, ...]]:
    return [call for call in ecs.calls if call[0] == "ContinueServiceDeployment"]


@pytest.mark.parametrize("action", [abort_rollout, promote_rollout])
def test_with_nothing_in_flight_abort_and_promote_say_so_and_what_to_do(action: Any) -> None:
    ctx, ecs, trail = context([answer("SCALE_UP")], in_flight=False)

    with pytest.raises(DeployFailed) as refused:
        action(ctx, "")

    assert str(refused.value) == "no service deployment of shine is in flight in unit"
    assert refused.value.fix == (
        "`snailtrail status` shows what runs; `snailtrail rollback` returns a finished deploy to the last verified "
        "revision"
    )
    assert ecs.calls == [("ListServiceDeployments", "shine")] and trail.events == []


def test_abort_at_a_waiting_hook_answers_it_rollback_and_names_the_operator_and_reason() -> None:
    ctx, ecs, trail = context(
        [answer(TEST_STAGE, hook="AWAITING_ACTION"), answer(TEST_STAGE, status="ROLLBACK_SUCCESSFUL")]
    )

    result = abort_rollout(ctx, "not today")

    assert continued(ecs) == [("ContinueServiceDeployment", HOOK, "ROLLBACK")]
    assert result["ok"] is True and result["service_deployment"] == ARN
    assert result["message"].startswith(f"ContinueServiceDeployment ROLLBACK at {TEST_STAGE}: production traffic")
    requested = trail.events[0]
    assert requested.kind == "deployment.rollback-requested" and requested.run_id == "run-1"
    assert requested.detail.startswith("operator: `snailtrail abort` by ana (not today)")
    assert [e.kind for e in trail.events] == ["deployment.rollback-requested", "traffic.restored"]


def test_abort_without_a_reason_names_only_the_operator() -> None:
    ctx, _, trail = context([answer("PRODUCTION_TRAFFIC_SHIFT"), answer("X", status="ROLLBACK_SUCCESSFUL")])

    abort_rollout(ctx, "")

    assert trail.events[0].detail.startswith("operator: `snailtrail abort` by ana — StopServiceDeployment")


def test_promote_continues_each_hook_it_reaches_until_production_traffic_has_shifted() -> None:
    ctx, ecs, trail = context(
        [
            answer("SCALE_UP"),
            answer(TEST_STAGE, hook="AWAITING_ACTION"),
            answer("PRODUCTION_TRAFFIC_SHIFT"),
            answer(PRODUCTION_STAGE, hook="AWAITING_ACTION"),
            answer("BAKE_TIME"),
        ]
    )

    result = promote_rollout(ctx, "looked fine")

    assert continued(ecs) == [("ContinueServiceDeployment", HOOK, "CONTINUE")] * 2
    assert result == {
        "ok": True,
        "message": f"continued: {TEST_STAGE}, {PRODUCTION_STAGE}; the deployment is IN_PROGRESS at {PRODUCTION_STAGE}",
        "service_deployment": ARN,
        "continued": [TEST_STAGE, PRODUCTION_STAGE],
    }
    assert [(e.kind, e.detail) for e in trail.events] == [
        ("deployment.promoted", f"{stage}: CONTINUE by `snailtrail promote` by ana (looked fine)")
        for stage in (TEST_STAGE, PRODUCTION_STAGE)
    ]
    assert {event.run_id for event in trail.events} == {"run-1"}
    assert trail.events[0].data == {
        "service_deployment": ARN,
        "stage": TEST_STAGE,
        "hook": HOOK,
        "reason": "looked fine",
    }


@pytest.mark.parametrize("stage", ["BAKE_TIME", "CLEAN_UP"])
def test_promote_past_production_traffics_shift_leaves_ecs_bake_to_run(stage: str) -> None:
    ctx, ecs, trail = context([answer(stage)])

    result = promote_rollout(ctx, "")

    assert continued(ecs) == [] and trail.events == []
    assert result["ok"] is True
    assert result["message"] == f"continued: no hook was waiting; the deployment is IN_PROGRESS at {stage}"


@pytest.mark.parametrize(
    ("status", "ok"),
    [("SUCCESSFUL", True), ("STOPPED", False), ("ROLLBACK_IN_PROGRESS", False), ("ROLLBACK_SUCCESSFUL", False)],
)
def test_promote_of_a_deployment_that_ended_or_rolls_back_continues_nothing(status: str, ok: bool) -> None:
    ctx, ecs, _ = context([answer(TEST_STAGE, status=status, hook="AWAITING_ACTION")])

    result = promote_rollout(ctx, "")

    assert continued(ecs) == []
    assert result["ok"] is ok
    assert result["message"] == f"continued: no hook was waiting; the deployment is {status} at {TEST_STAGE}"


def test_promote_refuses_a_rolling_deployment_which_has_no_hooks() -> None:
    ctx, ecs, _ = context([answer("SCALE_UP", deploymentConfiguration={"strategy": "ROLLING"})])

    with pytest.raises(DeployFailed) as refused:
        promote_rollout(ctx, "")

    assert str(refused.value) == "the deployment in flight is ROLLING: it has no PAUSE hooks to continue"
    assert refused.value.fix == "let it finish (`snailtrail status --watch`), or `snailtrail abort` rolls it back"
    assert continued(ecs) == []


def test_promote_that_outlasts_its_timeout_says_the_deployment_is_still_in_flight(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from snailtrail.run import traffic

    clock = [0.0]
    monkeypatch.setattr(traffic.time, "monotonic", lambda: clock[0])
    monkeypatch.setattr(traffic.time, "sleep", lambda seconds: clock.__setitem__(0, clock[0] + 600))
    ctx, ecs, _ = context([answer("SCALE_UP")])

    result = promote_rollout(ctx, "")

    assert result["ok"] is True
    assert result["message"] == "continued: no hook was waiting; the deployment is still in flight at SCALE_UP"
    polls = [call for call in ecs.calls if call[0] == "DescribeServiceDeployments"]
    assert len(polls) == 1 + traffic.PROMOTE_TIMEOUT_S / 600  # the strategy, then one read per poll until the timeout
