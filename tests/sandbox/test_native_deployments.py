"""ECS-native service deployments in the sandbox: the calls, the stages in ECS's order, hooks, rollbacks."""

from __future__ import annotations

import time
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from tests.conftest import LOAD_BALANCER_ROLE_ARN, Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-1-good-2"


def ecs() -> Any:
    return boto3.client("ecs", region_name="us-east-1")


def elbv2() -> Any:
    return boto3.client("elbv2", region_name="us-east-1")


def service_rule(port: int) -> dict[str, Any]:
    balancer = elbv2().describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listener = next(
        x
        for x in elbv2().describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if x["Port"] == port
    )
    return next(
        r for r in elbv2().describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if r["Priority"] == "10"
    )


def weights(rule: dict[str, Any]) -> dict[str, int]:
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    return {g["TargetGroupArn"].rsplit("/", 2)[-2]: g["Weight"] for g in groups}


def group_arn(name: str) -> str:
    return elbv2().describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]


def the_test_listener(sandbox: Sandbox) -> int:
    from snailtrail.config.settings import load_settings

    port = load_settings(str(sandbox.config)).service.load_balancer.test_listener_port
    assert port is not None
    return port


def load_balancers(sandbox: Sandbox, **advanced: Any) -> list[dict[str, Any]]:
    configuration = {
        "alternateTargetGroupArn": group_arn("shine-tg-alt"),
        "productionListenerRule": service_rule(443)["RuleArn"],
        "testListenerRule": service_rule(the_test_listener(sandbox))["RuleArn"],
        "roleArn": LOAD_BALANCER_ROLE_ARN,
    } | advanced
    return [
        {
            "targetGroupArn": group_arn("shine-tg"),
            "containerName": "app",
            "containerPort": 8000,
            "advancedConfiguration": {k: v for k, v in configuration.items() if v is not None},
        }
    ]


def pause(*stages: str, minutes: int = 600, action: str = "ROLLBACK") -> dict[str, Any]:
    return {
        "targetType": "PAUSE",
        "lifecycleStages": list(stages),
        "timeoutConfiguration": {"timeoutInMinutes": minutes, "action": action},
    }


def start(sandbox: Sandbox, configuration: dict[str, Any], minute_s: float = 0.05) -> str:
    """phase-1 rolled out (ROLLING), then a new revision deployed natively; the service deployment's ARN."""
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.reconciler.minute_s = minute_s
    revision = sandbox.copy_revision(GOOD_2)
    ecs().update_service(
        cluster="shine",
        service="shine",
        taskDefinition=revision,
        deploymentConfiguration=configuration,
        loadBalancers=load_balancers(sandbox),
    )
    deployments = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"]
    return deployments[0]["serviceDeploymentArn"]


def describe(arn: str) -> dict[str, Any]:
    return ecs().describe_service_deployments(serviceDeploymentArns=[arn])["serviceDeployments"][0]


def wait_for(arn: str, done: Any, timeout_s: float = 20) -> tuple[dict[str, Any], list[str]]:
    """Poll until ``done(deployment)``; the deployment and each stage seen, in order."""
    stages: list[str] = []
    deadline = time.monotonic() + timeout_s
    while True:
        deployment = describe(arn)
        stage = deployment.get("lifecycleStage")
        if stage and (not stages or stages[-1] != stage):
            stages.append(stage)
        if done(deployment):
            return deployment, stages
        assert time.monotonic() < deadline, f"timed out at {deployment['status']} {stage}"
        time.sleep(0.01)


def finished(deployment: dict[str, Any]) -> bool:
    return deployment["status"] in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL", "STOPPED")


def awaiting(stage: str) -> Any:
    return lambda d: (
        d.get("lifecycleStage") == stage
        and any(h["status"] == "AWAITING_ACTION" for h in d.get("lifecycleHookDetails", []))
    )


def test_a_rolling_update_is_a_service_deployment_too(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    listed = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"]
    assert [d["status"] for d in listed] == ["SUCCESSFUL"]


def test_the_service_keeps_its_native_configuration_and_advanced_load_balancer(sandbox: Sandbox) -> None:
    configuration = {"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 1}}
    start(sandbox, configuration)
    described = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    assert described["deploymentConfiguration"]["strategy"] == "CANARY"
    assert described["deploymentConfiguration"]["canaryConfiguration"]["canaryPercent"] == 10.0
    assert described["loadBalancers"][0]["advancedConfiguration"]["roleArn"] == LOAD_BALANCER_ROLE_ARN


def test_blue_green_bakes_and_ends_with_production_on_the_alternate_group(sandbox: Sandbox) -> None:
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1})
    deployment, stages = wait_for(arn, finished)
    assert deployment["status"] == "SUCCESSFUL"
    assert "BAKE_TIME" in stages  # a sandbox minute of bake (every stage's order: test_every_stage_...)
    assert weights(service_rule(443)) == {"shine-tg": 0, "shine-tg-alt": 100}
    tasks = ecs().describe_tasks(cluster="shine", tasks=ecs().list_tasks(cluster="shine")["taskArns"])["tasks"]
    running = {t["taskDefinitionArn"].rsplit(":", 1)[-1] for t in tasks if t["lastStatus"] == "RUNNING"}
    assert running == {"2"}  # the old revision's tasks cleaned up


def test_the_next_deployment_goes_to_the_group_that_carries_no_production_traffic(sandbox: Sandbox) -> None:
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0})
    wait_for(arn, finished)
    ecs().update_service(cluster="shine", service="shine", taskDefinition=sandbox.copy_revision(GOOD_1))
    second = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"][0]
    deployment, _ = wait_for(second["serviceDeploymentArn"], finished)
    assert deployment["status"] == "SUCCESSFUL"
    assert weights(service_rule(443)) == {"shine-tg": 100, "shine-tg-alt": 0}


def test_a_pause_hook_waits_with_its_expiry_until_continued(sandbox: Sandbox) -> None:
    configuration = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [pause("POST_TEST_TRAFFIC_SHIFT")],
    }
    arn = start(sandbox, configuration)
    deployment, _ = wait_for(arn, awaiting("POST_TEST_TRAFFIC_SHIFT"))
    hook = deployment["lifecycleHookDetails"][0]
    assert hook["targetType"] == "PAUSE" and hook["timeoutAction"] == "ROLLBACK" and "expiresAt" in hook
    assert weights(service_rule(443)) == {"shine-tg": 100, "shine-tg-alt": 0}  # no production traffic yet
    assert weights(service_rule(the_test_listener(sandbox))) == {
        "shine-tg": 0,
        "shine-tg-alt": 100,
    }  # the test rule moved
    assert deployment["targetServiceRevision"]["requestedTestTrafficWeight"] == 100.0
    ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="CONTINUE")
    assert wait_for(arn, finished)[0]["status"] == "SUCCESSFUL"


def test_continue_with_rollback_puts_production_back_and_fills_rollback(sandbox: Sandbox) -> None:
    configuration = {
        "strategy": "BLUE_GREEN",
        "bakeTimeInMinutes": 0,
        "lifecycleHooks": [pause("POST_PRODUCTION_TRAFFIC_SHIFT")],
    }
    arn = start(sandbox, configuration)
    deployment, _ = wait_for(arn, awaiting("POST_PRODUCTION_TRAFFIC_SHIFT"))
    assert weights(service_rule(443)) == {"shine-tg": 0, "shine-tg-alt": 100}
    hook = deployment["lifecycleHookDetails"][0]
    ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"], action="ROLLBACK")
    deployment, _ = wait_for(arn, finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    assert deployment["rollback"]["serviceRevisionArn"] == deployment["sourceServiceRevisions"][0]["arn"]
    assert "startedAt" in deployment["rollback"] and deployment["rollback"]["reason"]
    assert weights(service_rule(443)) == {"shine-tg": 100, "shine-tg-alt": 0}
    service = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    assert service["taskDefinition"].endswith(":1")


def test_stop_service_deployment_rolls_back(sandbox: Sandbox) -> None:
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [pause("POST_SCALE_UP")]})
    wait_for(arn, awaiting("POST_SCALE_UP"))
    ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    deployment, _ = wait_for(arn, finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL" and "stop" in deployment["rollback"]["reason"]
    with pytest.raises(ClientError) as refused:
        ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    assert refused.value.response["Error"]["Code"] == "ConflictException"


def test_a_hook_that_times_out_takes_its_timeout_action(sandbox: Sandbox) -> None:
    hooks = [pause("POST_TEST_TRAFFIC_SHIFT", minutes=1, action="ROLLBACK")]
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": hooks})
    deployment, _ = wait_for(arn, finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL" and "timed out" in deployment["rollback"]["reason"]


def test_a_hook_timing_out_with_continue_goes_on(sandbox: Sandbox) -> None:
    hooks = [pause("POST_TEST_TRAFFIC_SHIFT", minutes=1, action="CONTINUE")]
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": hooks})
    assert wait_for(arn, finished)[0]["status"] == "SUCCESSFUL"


def test_canary_shifts_its_percent_then_bakes_then_all(sandbox: Sandbox) -> None:
    configuration = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 0,
        "canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 20},
    }
    arn = start(sandbox, configuration)
    wait_for(arn, lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight") == 10.0)
    assert weights(service_rule(443)) == {"shine-tg": 90, "shine-tg-alt": 10}
    assert wait_for(arn, finished)[0]["status"] == "SUCCESSFUL"
    assert weights(service_rule(443)) == {"shine-tg": 0, "shine-tg-alt": 100}


def test_linear_moves_step_by_step(sandbox: Sandbox) -> None:
    configuration = {
        "strategy": "LINEAR",
        "bakeTimeInMinutes": 0,
        "linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 20},
    }
    arn = start(sandbox, configuration)
    wait_for(arn, lambda d: d["targetServiceRevision"].get("requestedProductionTrafficWeight") == 50.0)
    assert weights(service_rule(443)) == {"shine-tg": 50, "shine-tg-alt": 50}
    assert wait_for(arn, finished)[0]["status"] == "SUCCESSFUL"


def test_an_alarm_in_alarm_rolls_the_deployment_back(sandbox: Sandbox) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="shine-5xx", MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
        Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    hooks = [pause("BAKE_TIME")]
    alarms = {"alarmNames": ["shine-5xx"], "enable": True, "rollback": True}
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "alarms": alarms, "lifecycleHooks": hooks})
    wait_for(arn, awaiting("BAKE_TIME"))
    cloudwatch.set_alarm_state(AlarmName="shine-5xx", StateValue="ALARM", StateReason="5xx")
    deployment, _ = wait_for(arn, finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL" and "shine-5xx" in deployment["rollback"]["reason"]
    assert deployment["alarms"]["triggeredAlarmNames"] == ["shine-5xx"]
    assert weights(service_rule(443)) == {"shine-tg": 100, "shine-tg-alt": 0}


def test_continuing_a_hook_that_does_not_wait_is_refused(sandbox: Sandbox) -> None:
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [pause("POST_SCALE_UP")]})
    hook = wait_for(arn, awaiting("POST_SCALE_UP"))[0]["lifecycleHookDetails"][0]
    ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    with pytest.raises(ClientError) as refused:
        ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"


def test_unknown_service_deployments(sandbox: Sandbox) -> None:
    missing = "arn:aws:ecs:us-east-1:123456789012:service-deployment/shine/shine/nothere"
    with pytest.raises(ClientError) as refused:
        ecs().continue_service_deployment(serviceDeploymentArn=missing, hookId="x")
    assert refused.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    with pytest.raises(ClientError) as refused:
        ecs().stop_service_deployment(serviceDeploymentArn=missing)
    assert refused.value.response["Error"]["Code"] == "ServiceDeploymentNotFoundException"
    answer = ecs().describe_service_deployments(serviceDeploymentArns=[missing])
    assert answer["failures"] == [{"arn": missing, "reason": "MISSING"}]


def refusal(sandbox: Sandbox, configuration: dict[str, Any], balancers: list[dict[str, Any]] | None = None) -> str:
    """The message ECS refuses an UpdateService with (InvalidParameterException), nothing changed."""
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    with pytest.raises(ClientError) as refused:
        ecs().update_service(
            cluster="shine",
            service="shine",
            deploymentConfiguration=configuration,
            loadBalancers=balancers if balancers is not None else load_balancers(sandbox),
        )
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    service = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    assert (service.get("deploymentConfiguration") or {}).get("strategy") in (None, "ROLLING")
    return refused.value.response["Error"]["Message"]


@pytest.mark.parametrize(
    ("configuration", "field"),
    [
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 0.05}}, "canaryPercent"),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 100.5}}, "canaryPercent"),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryPercent": 10.05}}, "canaryPercent"),
        ({"strategy": "CANARY", "canaryConfiguration": {"canaryBakeTimeInMinutes": 1441}}, "canaryBakeTimeInMinutes"),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepPercent": 2.9}}, "stepPercent"),
        ({"strategy": "LINEAR", "linearConfiguration": {"stepBakeTimeInMinutes": 1441}}, "stepBakeTimeInMinutes"),
        ({"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 1441}, "bakeTimeInMinutes"),
        ({"strategy": "BLUE_GREEN", "canaryConfiguration": {"canaryPercent": 10.0}}, "canaryConfiguration"),
    ],
)
def test_settings_out_of_range_are_refused(sandbox: Sandbox, configuration: dict[str, Any], field: str) -> None:
    assert field in refusal(sandbox, configuration)


def test_a_native_strategy_needs_the_advanced_configuration_and_its_role(sandbox: Sandbox) -> None:
    plain = [{k: v for k, v in load_balancers(sandbox)[0].items() if k != "advancedConfiguration"}]
    assert "advancedConfiguration" in refusal(sandbox, {"strategy": "BLUE_GREEN"}, plain)
    assert "roleArn" in refusal(sandbox, {"strategy": "CANARY"}, load_balancers(sandbox, roleArn=None))


def test_a_listener_rule_that_does_not_forward_to_both_groups_is_refused(sandbox: Sandbox) -> None:
    rule = service_rule(443)
    elbv2().modify_rule(
        RuleArn=rule["RuleArn"],
        Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": [{"TargetGroupArn": group_arn("shine-tg")}]}}],
    )
    assert "must forward to both" in refusal(sandbox, {"strategy": "BLUE_GREEN"})


def test_hook_targets_are_checked_by_type(sandbox: Sandbox) -> None:
    paused = pause("POST_SCALE_UP") | {"hookTargetArn": "arn:aws:lambda:us-east-1:123456789012:function:f"}
    assert "PAUSE" in refusal(sandbox, {"strategy": "BLUE_GREEN", "lifecycleHooks": [paused]})
    lambda_hook = {"targetType": "AWS_LAMBDA", "lifecycleStages": ["POST_SCALE_UP"]}
    assert "AWS_LAMBDA" in refusal(sandbox, {"strategy": "BLUE_GREEN", "lifecycleHooks": [lambda_hook]})


def test_a_pause_at_production_traffic_shift_waits_at_every_canary_step(sandbox: Sandbox) -> None:
    configuration = {
        "strategy": "CANARY",
        "bakeTimeInMinutes": 0,
        "canaryConfiguration": {"canaryPercent": 20.0, "canaryBakeTimeInMinutes": 0},
        "lifecycleHooks": [pause("PRODUCTION_TRAFFIC_SHIFT")],
    }
    arn = start(sandbox, configuration)
    seen = []
    for _ in range(2):
        deployment, _ = wait_for(arn, awaiting("PRODUCTION_TRAFFIC_SHIFT"))
        seen.append(weights(service_rule(443)))
        hook = next(h for h in deployment["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION")
        ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
        wait_for(arn, lambda d, hook=hook: all(h["hookId"] != hook["hookId"] or h["status"] != "AWAITING_ACTION"
                                               for h in d["lifecycleHookDetails"]))  # fmt: skip
    assert seen == [{"shine-tg": 100, "shine-tg-alt": 0}, {"shine-tg": 80, "shine-tg-alt": 20}]
    assert wait_for(arn, finished)[0]["status"] == "SUCCESSFUL"
    assert weights(service_rule(443)) == {"shine-tg": 0, "shine-tg-alt": 100}


def test_the_circuit_breaker_rolls_a_native_deployment_back(sandbox: Sandbox) -> None:
    from tests.conftest import CRASHING

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.reconciler.minute_s = 0.05
    breaker = {"enable": True, "rollback": True}
    ecs().update_service(
        cluster="shine",
        service="shine",
        taskDefinition=sandbox.copy_revision(GOOD_2, command=CRASHING),
        deploymentConfiguration={"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "deploymentCircuitBreaker": breaker},
        loadBalancers=load_balancers(sandbox),
    )
    arn = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"][0]
    deployment, _ = wait_for(arn["serviceDeploymentArn"], finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL" and "circuit breaker" in deployment["rollback"]["reason"]
    assert deployment["deploymentCircuitBreaker"]["failureCount"] >= 3
    assert weights(service_rule(443)) == {"shine-tg": 100, "shine-tg-alt": 0}
    service = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    assert service["taskDefinition"].endswith(":1")
    assert any("rolling back to deployment" in e["message"] for e in service["events"])


def test_an_alarm_without_rollback_stops_the_deployment_where_it_is(sandbox: Sandbox) -> None:
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="shine-latency", MetricName="TargetResponseTime", Namespace="AWS/ApplicationELB",
        Statistic="Average", Period=60, EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold",
    )  # fmt: skip
    cloudwatch.set_alarm_state(AlarmName="shine-latency", StateValue="ALARM", StateReason="slow")
    alarms = {"alarmNames": ["shine-latency"], "enable": True, "rollback": False}
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "alarms": alarms})
    deployment, _ = wait_for(arn, finished)
    assert deployment["status"] == "STOPPED" and "shine-latency" in deployment["statusReason"]
    assert "rollback" not in deployment


STAGE_ORDER = [
    "RECONCILE_SERVICE", "PRE_SCALE_UP", "SCALE_UP", "POST_SCALE_UP", "TEST_TRAFFIC_SHIFT", "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT", "POST_PRODUCTION_TRAFFIC_SHIFT", "BAKE_TIME", "CLEAN_UP",
]  # fmt: skip


@pytest.mark.parametrize(
    ("strategy", "extra", "shift_pauses"),
    [
        ("BLUE_GREEN", {}, 1),
        ("CANARY", {"canaryConfiguration": {"canaryPercent": 10.0, "canaryBakeTimeInMinutes": 0}}, 2),
        ("LINEAR", {"linearConfiguration": {"stepPercent": 50.0, "stepBakeTimeInMinutes": 0}}, 2),
    ],
)
def test_every_stage_is_reached_in_ecs_order(
    sandbox: Sandbox, strategy: str, extra: dict[str, Any], shift_pauses: int
) -> None:
    """A PAUSE hook at every stage, each continued in turn: the stages the deployment waits at, in order."""
    configuration = {"strategy": strategy, "bakeTimeInMinutes": 0, "lifecycleHooks": [pause(*STAGE_ORDER, minutes=600)]}
    arn = start(sandbox, configuration | extra)
    waited: list[str] = []
    while True:
        deployment, _ = wait_for(
            arn, lambda d: finished(d) or any(h["status"] == "AWAITING_ACTION" for h in d["lifecycleHookDetails"])
        )
        if finished(deployment):
            break
        waited.append(deployment["lifecycleStage"])
        hook = next(h for h in deployment["lifecycleHookDetails"] if h["status"] == "AWAITING_ACTION")
        ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    expected = [
        s for stage in STAGE_ORDER for s in [stage] * (shift_pauses if stage == "PRODUCTION_TRAFFIC_SHIFT" else 1)
    ]
    assert deployment["status"] == "SUCCESSFUL"
    assert waited == expected


def test_continuing_a_deployment_that_has_ended_is_refused(sandbox: Sandbox) -> None:
    arn = start(sandbox, {"strategy": "BLUE_GREEN", "bakeTimeInMinutes": 0, "lifecycleHooks": [pause("POST_SCALE_UP")]})
    hook = wait_for(arn, awaiting("POST_SCALE_UP"))[0]["lifecycleHookDetails"][0]
    ecs().stop_service_deployment(serviceDeploymentArn=arn, stopType="ROLLBACK")
    wait_for(arn, finished)
    with pytest.raises(ClientError) as refused:
        ecs().continue_service_deployment(serviceDeploymentArn=arn, hookId=hook["hookId"])
    assert refused.value.response["Error"]["Code"] == "InvalidParameterException"
    assert "ROLLBACK_SUCCESSFUL" in refused.value.response["Error"]["Message"]


def test_a_rolling_deployment_the_circuit_breaker_rolls_back_says_so(sandbox: Sandbox) -> None:
    from tests.conftest import CRASHING

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    ecs().update_service(
        cluster="shine",
        service="shine",
        taskDefinition=sandbox.copy_revision(GOOD_2, command=CRASHING),
        deploymentConfiguration={"deploymentCircuitBreaker": {"enable": True, "rollback": True}},
    )
    arn = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"][0]
    deployment, _ = wait_for(arn["serviceDeploymentArn"], finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL" and "circuit breaker" in deployment["rollback"]["reason"]


def test_stopping_a_rolling_deployment_with_rollback_returns_the_service_to_the_previous_revision(
    sandbox: Sandbox,
) -> None:
    from tests.conftest import CRASHING

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    before = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]["taskDefinition"]
    crashing = sandbox.copy_revision(GOOD_2, command=CRASHING)
    ecs().update_service(cluster="shine", service="shine", taskDefinition=crashing)
    arn = ecs().list_service_deployments(cluster="shine", service="shine")["serviceDeployments"][0]
    ecs().stop_service_deployment(serviceDeploymentArn=arn["serviceDeploymentArn"], stopType="ROLLBACK")
    deployment, _ = wait_for(arn["serviceDeploymentArn"], finished)
    assert deployment["status"] == "ROLLBACK_SUCCESSFUL"
    service = ecs().describe_services(cluster="shine", services=["shine"])["services"][0]
    assert service["taskDefinition"] == before
    assert [d["taskDefinition"] for d in service["deployments"]] == [before]
