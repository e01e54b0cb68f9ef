"""The judge of a native service deployment (snailtrail/run/native_deploy.py)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-1-good-2"
BROKEN = "fake.local/shine:phase-1-errors"


def use_strategy(sandbox: Sandbox, strategy: dict[str, Any]) -> None:
    sandbox.edit_phase("phase-1", lambda doc: doc.update(strategy=strategy))


# -- the judge against a scripted service deployment --------------------------------------------
# ECS's answers as a deployment moves on, one per DescribeServiceDeployments (the API reference's shapes);
# these tests need no engine: they pin what snailtrail does with each answer.
ARN = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shine/shine/d1"
HOOK = "ecs-pause-1"


def answer(stage: str, status: str = "IN_PROGRESS", hook: str | None = None, **extra: Any) -> dict[str, Any]:
    hooks = [{"hookId": HOOK, "targetType": "PAUSE", "status": hook, "timeoutAction": "ROLLBACK"}] if hook else []
    found = {"serviceDeploymentArn": ARN, "lifecycleStage": stage, "status": status, "lifecycleHookDetails": hooks}
    return found | extra


class ScriptedEcs:
    """EcsApi's service-deployment calls over a script of answers; the last answer repeats."""

    def __init__(self, script: list[dict[str, Any]]) -> None:
        self.script = script
        self.calls: list[tuple[str, ...]] = []

    def in_flight_deployments(self, service: str) -> list[dict[str, Any]]:
        self.calls.append(("ListServiceDeployments", service))
        return [{"serviceDeploymentArn": ARN, "status": "IN_PROGRESS"}]

    def service_deployment(self, arn: str) -> dict[str, Any]:
        self.calls.append(("DescribeServiceDeployments",))
        return self.script.pop(0) if len(self.script) > 1 else self.script[0]

    def continue_deployment(self, arn: str, hook_id: str, action: str) -> None:
        self.calls.append(("ContinueServiceDeployment", hook_id, action))

    def stop_deployment(self, arn: str) -> None:
        self.calls.append(("StopServiceDeployment", "ROLLBACK"))


class Events:
    def __init__(self) -> None:
        self.emitted: list[tuple[str, str, dict[str, Any]]] = []

    def emit(self, kind: str, phase: str | None, detail: str = "", **extra: Any) -> None:
        self.emitted.append((kind, detail, extra))

    def kinds(self) -> list[str]:
        return [kind for kind, _, _ in self.emitted]


def judge(script: list[dict[str, Any]]) -> tuple[Any, ScriptedEcs, Events]:
    from types import SimpleNamespace

    from snailtrail.config.strategy_config import StrategyConfig
    from snailtrail.run.native_deploy import NativeDeployment

    ecs, events = ScriptedEcs(script), Events()
    settings = SimpleNamespace(service=SimpleNamespace(name="shine"), environment=SimpleNamespace(minute_s=1.0))
    ctx = SimpleNamespace(ecs=ecs, settings=settings, clients=None, reporter=SimpleNamespace(detail=lambda _: None))
    phase = SimpleNamespace(name="phase-1")
    deployment = NativeDeployment.__new__(NativeDeployment)
    deployment.__dict__.update(
        ctx=ctx,
        run=events,
        phase=phase,
        setup=None,
        strategy=StrategyConfig(kind="canary"),
        poll_interval_s=0,
        timeout_s=5,
        arn=None,
        updated_at=None,
        stage=None,
        status=None,
        hooks_seen={},
        new_group="tg-alt",
        production_started=None,
        evidence=[],
        metrics=None,
    )
    return deployment, ecs, events


def test_the_judge_waits_for_its_hook_and_writes_every_stage_it_saw_with_the_deployment() -> None:
    from snailtrail.run.native_setup import TEST_STAGE

    deployment, ecs, events = judge(
        [answer("SCALE_UP"), answer("TEST_TRAFFIC_SHIFT"), answer(TEST_STAGE, hook="AWAITING_ACTION")]
    )
    reached = deployment.await_hook(TEST_STAGE)
    said = deployment.answer(reached, TEST_STAGE, "2 success criteria passed")

    assert ecs.calls[-1] == ("ContinueServiceDeployment", HOOK, "CONTINUE")
    stages = [detail for kind, detail, _ in events.emitted if kind == "deployment.stage"]
    assert stages == ["SCALE_UP (IN_PROGRESS)", "TEST_TRAFFIC_SHIFT (IN_PROGRESS)", f"{TEST_STAGE} (IN_PROGRESS)"]
    assert "deployment.hook" in events.kinds() and events.kinds()[-1] == "deployment.continued"
    assert events.emitted[-1][2]["data"]["evidence"] == "2 success criteria passed" and "continued" in said


def test_a_hook_an_operator_continued_first_is_not_continued_again() -> None:
    from snailtrail.run.native_setup import TEST_STAGE

    deployment, ecs, events = judge([answer("PRODUCTION_TRAFFIC_SHIFT")])
    reached = deployment.await_hook(TEST_STAGE)
    said = deployment.answer(reached, TEST_STAGE, "criteria passed")

    assert not [c for c in ecs.calls if c[0] == "ContinueServiceDeployment"]
    assert "promote" in said and events.kinds()[-1] == "deployment.promoted"


def test_a_rollback_ecs_made_by_itself_ends_the_follow_with_ecs_reason() -> None:
    import pytest

    from snailtrail.run.native_deploy import EcsRolledBack
    from snailtrail.run.native_setup import PRODUCTION_STAGE

    breaker = {"status": "TRIGGERED", "failureCount": 3, "threshold": 3}
    deployment, _, _ = judge(
        [answer("SCALE_UP"), answer("SCALE_UP", status="ROLLBACK_IN_PROGRESS", deploymentCircuitBreaker=breaker)]
    )
    with pytest.raises(EcsRolledBack, match="circuit breaker \\(3 failed tasks\\)"):
        deployment.await_hook(PRODUCTION_STAGE)


def test_a_hook_that_timed_out_is_named_as_the_cause_of_the_rollback() -> None:
    from snailtrail.run.native_deploy import rollback_cause

    timed_out = answer("POST_TEST_TRAFFIC_SHIFT", status="ROLLBACK_SUCCESSFUL", hook="TIMED_OUT")
    alarmed = answer(
        "BAKE_TIME", status="ROLLBACK_SUCCESSFUL", alarms={"status": "TRIGGERED", "triggeredAlarmNames": ["shine-5xx"]}
    )
    assert "PAUSE hook timed out" in rollback_cause(timed_out)
    assert "CloudWatch alarm(s) shine-5xx" in rollback_cause(alarmed)


def test_a_failed_gate_at_a_waiting_hook_answers_it_rollback_and_follows_to_the_old_revision() -> None:
    from snailtrail.run.native_deploy import roll_back_deployment

    deployment, ecs, events = judge(
        [
            answer("POST_PRODUCTION_TRAFFIC_SHIFT", hook="AWAITING_ACTION"),
            answer("POST_PRODUCTION_TRAFFIC_SHIFT", status="ROLLBACK_IN_PROGRESS"),
            answer("POST_PRODUCTION_TRAFFIC_SHIFT", status="ROLLBACK_SUCCESSFUL"),
        ]
    )
    said = roll_back_deployment(deployment.ctx, events, "phase-1", ARN, "traffic error rate", "12% errors", 5)

    assert ("ContinueServiceDeployment", HOOK, "ROLLBACK") in ecs.calls
    assert ("StopServiceDeployment", "ROLLBACK") not in ecs.calls
    assert events.kinds() == ["deployment.rollback-requested", "traffic.restored"]
    assert "ContinueServiceDeployment ROLLBACK" in said


def test_a_failed_gate_while_traffic_shifts_stops_the_deployment_with_rollback() -> None:
    from snailtrail.run.native_deploy import roll_back_deployment

    deployment, ecs, events = judge(
        [answer("PRODUCTION_TRAFFIC_SHIFT"), answer("PRODUCTION_TRAFFIC_SHIFT", status="ROLLBACK_SUCCESSFUL")]
    )
    roll_back_deployment(deployment.ctx, events, "phase-1", ARN, "traffic latency", "3x slower", 5)

    assert ("StopServiceDeployment", "ROLLBACK") in ecs.calls
    assert events.emitted[-1][2]["data"]["status"] == "ROLLBACK_SUCCESSFUL"


def test_a_rollback_ecs_does_not_finish_is_a_failure_that_says_how_to_retry() -> None:
    import pytest

    from snailtrail.plan.steps import StepFailed
    from snailtrail.run.native_deploy import roll_back_deployment

    deployment, _, events = judge(
        [answer("PRODUCTION_TRAFFIC_SHIFT"), answer("PRODUCTION_TRAFFIC_SHIFT", status="ROLLBACK_FAILED")]
    )
    with pytest.raises(StepFailed, match="ECS's rollback did not finish: ROLLBACK_FAILED") as raised:
        roll_back_deployment(deployment.ctx, events, "phase-1", ARN, "operator", "abort", 5)
    assert "snailtrail abort" in str(raised.value.fix)
    assert events.kinds()[-1] == "deployment.rollback-unfinished"


# -- in the sandbox: ECS's native deployment (the sandbox's engine), judged by snailtrail --------
NATIVE_CANARY = {
    "kind": "canary",
    "canary": {"percent": 10, "bake_minutes": 1},
    "bake_minutes": 1,
    "gates": {"allow_no_traffic": True},
}


def trail_events(sandbox: Sandbox) -> list[dict[str, Any]]:
    return sandbox.run("trail", "--format", "json").json()["events"]


def operator(sandbox: Sandbox, act: str, when_held: Any) -> Any:
    """An operator in another terminal: once the deployment waits at its hold, ``act`` (promote or abort)."""
    import threading
    import time

    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.run.traffic import abort_rollout, promote_rollout
    from snailtrail.ui import Reporter

    done: dict[str, Any] = {}

    def watch() -> None:
        context = Context(load_settings(str(sandbox.config)), Reporter(quiet=True))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            found = context.ecs.in_flight_deployments("shine")
            if found:
                deployment = context.ecs.service_deployment(found[0]["serviceDeploymentArn"]) or {}
                held = any(e["kind"] == "deployment.held" for e in context.trail.events())
                if held and when_held(deployment):
                    action = promote_rollout if act == "promote" else abort_rollout
                    done["answer"] = action(context, "looked fine" if act == "promote" else "not today")
                    return
            time.sleep(0.05)

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread, done


def waiting_at_test_stage(deployment: dict[str, Any]) -> bool:
    from snailtrail.run.native_deploy import waiting_hook

    return deployment.get("lifecycleStage") == "POST_TEST_TRAFFIC_SHIFT" and waiting_hook(deployment) is not None


def test_a_native_canary_is_one_service_deployment_of_the_one_service_judged_at_its_hooks(sandbox: Sandbox) -> None:
    import boto3

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, NATIVE_CANARY)
    result = sandbox.deploy("phase-1", GOOD_2, "--json")

    assert result.exit_code == 0, result.stderr
    ecs = boto3.client("ecs", region_name="us-east-1")
    assert [arn.rsplit("/", 1)[-1] for arn in ecs.list_services(cluster="shine")["serviceArns"]] == ["shine"]
    service = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
    configuration = service["deploymentConfiguration"]
    assert configuration["strategy"] == "CANARY" and configuration["canaryConfiguration"]["canaryPercent"] == 10
    hooks = configuration["lifecycleHooks"]
    assert {h["lifecycleStages"][0]: h["timeoutConfiguration"]["action"] for h in hooks} == {
        "POST_TEST_TRAFFIC_SHIFT": "ROLLBACK",
        "POST_PRODUCTION_TRAFFIC_SHIFT": "ROLLBACK",
    }
    events = trail_events(sandbox)
    stages = [e["data"]["stage"] for e in events if e["kind"] == "deployment.stage"]
    assert stages.index("POST_TEST_TRAFFIC_SHIFT") < stages.index("PRODUCTION_TRAFFIC_SHIFT")
    continued = [e["data"]["stage"] for e in events if e["kind"] == "deployment.continued"]
    assert continued == ["POST_TEST_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT"]
    assert sandbox.run("status", "--json").json()["service_deployment"] is None


def test_a_native_canary_of_the_revision_that_runs_is_a_new_service_deployment(sandbox: Sandbox) -> None:
    import boto3

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, NATIVE_CANARY)
    result = sandbox.deploy("phase-1", GOOD_1)  # the same image: its revision is reused, as the demo's canary does

    assert result.exit_code == 0, result.stderr
    ecs = boto3.client("ecs", region_name="us-east-1")
    listed = ecs.list_service_deployments(cluster="shine", service="shine")["serviceDeployments"]
    assert [d["status"] for d in listed] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert listed[0]["targetServiceRevisionArn"] != listed[1]["targetServiceRevisionArn"]


def test_a_rolling_deploy_after_a_native_one_is_judged_in_the_group_production_now_runs_in(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, NATIVE_CANARY)
    assert sandbox.deploy("phase-1", GOOD_2).exit_code == 0  # production now on the alternate group
    use_strategy(sandbox, {"kind": "rolling"})
    result = sandbox.deploy("phase-1", GOOD_1)

    assert result.exit_code == 0, result.stderr


def test_a_manual_hold_waits_for_promote_and_the_webhook_says_what_waits(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, NATIVE_CANARY | {"hold": {"timeout_minutes": 60}})
    thread, done = operator(sandbox, "promote", waiting_at_test_stage)
    result = sandbox.deploy("phase-1", GOOD_2, "--json")
    thread.join()

    assert result.exit_code == 0, result.stderr
    assert done["answer"]["continued"][0] == "POST_TEST_TRAFFIC_SHIFT"
    held = next(e for e in trail_events(sandbox) if e["kind"] == "deployment.held")
    assert "snailtrail promote --env unit" in held["detail"] and "snailtrail abort --env unit" in held["detail"]
    assert "success criteria passed" in held["detail"]


def test_abort_at_a_hold_rolls_the_deployment_back_through_ecs_and_the_deploy_says_so(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    use_strategy(sandbox, NATIVE_CANARY | {"hold": {"timeout_minutes": 60}})
    thread, done = operator(sandbox, "abort", waiting_at_test_stage)
    result = sandbox.deploy("phase-1", GOOD_2, "--json")
    thread.join()

    assert result.exit_code == 1, result.stderr
    assert "ContinueServiceDeployment ROLLBACK at POST_TEST_TRAFFIC_SHIFT" in done["answer"]["message"]
    assert "ECS rolled the deployment back" in result.json()["message"]
    status = sandbox.run("status", "--json").json()
    assert status["task_definition"].endswith(":1") and status["service_deployment"] is None


def test_abort_and_promote_with_nothing_in_flight_exit_1_and_say_what_to_do(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    for command in ("abort", "promote"):
        refused = sandbox.run(command)
        assert refused.exit_code == 1, refused.stderr
        assert (
            "no service deployment of shine is in flight" in refused.stderr and "snailtrail rollback" in refused.stderr
        )
