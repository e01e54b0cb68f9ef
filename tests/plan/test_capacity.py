"""A deploy or rollback never shrinks the service, and stays within Application Auto Scaling's bounds."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from snailtrail.errors import ConfigError
from snailtrail.plan.capacity import DesiredCount, ScalingBounds, desired_count, planned_count, scaling_bounds
from tests.commands.test_deploy import GOOD_1, GOOD_2
from tests.conftest import Sandbox

BOUNDS = ScalingBounds("service/shine/shine", 2, 5)


def test_the_live_count_wins_over_a_smaller_phase_count() -> None:
    kept = desired_count(phase_count=1, live_count=4, requested=None, bounds=None)
    assert kept.count == 4 and "never shrinks" in kept.reason
    assert desired_count(phase_count=3, live_count=1, requested=None, bounds=None).count == 3


def test_the_count_is_kept_within_the_autoscaling_bounds() -> None:
    assert desired_count(phase_count=1, live_count=1, requested=None, bounds=BOUNDS).count == 2
    assert desired_count(phase_count=1, live_count=7, requested=None, bounds=BOUNDS).count == 5


def test_desired_count_overrides_and_outside_the_bounds_is_refused() -> None:
    assert desired_count(phase_count=2, live_count=4, requested=1, bounds=None).count == 1
    with pytest.raises(ConfigError, match="outside the autoscaling bounds 2-5"):
        desired_count(phase_count=2, live_count=4, requested=9, bounds=BOUNDS)


def autoscaled_to(count: int) -> None:
    """What Application Auto Scaling does: a scalable target 2-5, and the service grown to ``count``."""
    boto3.client("application-autoscaling", region_name="us-east-1").register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId="service/shine/shine",
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=2,
        MaxCapacity=5,
    )
    boto3.client("ecs", region_name="us-east-1").update_service(cluster="shine", service="shine", desiredCount=count)


def live_desired_count() -> int:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return ecs.describe_services(cluster="shine", services=["shine"])["services"][0]["desiredCount"]


def test_deploy_and_rollback_keep_the_count_autoscaling_grew(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    autoscaled_to(4)

    plan = sandbox.run("plan", "phase-2", "--image", GOOD_2, "--json").json()
    assert plan["desired_count"]["count"] == 4
    assert plan["desired_count"]["autoscaling"] == {"resource_id": "service/shine/shine", "min": 2, "max": 5}
    human = sandbox.run("plan", "phase-2", "--image", GOOD_2)
    assert "Application Auto Scaling manages the service" in human.stdout and "Desired count: 4" in human.stdout

    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0  # the phase asks 2
    assert live_desired_count() == 4
    back = sandbox.run("rollback", "--timeout", "20", "--poll-interval", "0.05", "--json")
    assert back.exit_code == 0, back.stderr
    assert live_desired_count() == 4  # phase-1 asks 1


def test_desired_count_outside_the_bounds_exits_2_and_changes_nothing(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    autoscaled_to(3)
    sandbox.api_calls.clear()
    result = sandbox.deploy("phase-2", GOOD_2, "--desired-count", "9")
    assert result.exit_code == 2 and "--desired-count 9 is outside the autoscaling bounds 2-5" in result.stderr
    assert "ecs.UpdateService" not in sandbox.api_calls and "ecs.RegisterTaskDefinition" not in sandbox.api_calls
    assert sandbox.deploy("phase-2", GOOD_2, "--desired-count", "2").exit_code == 0
    assert live_desired_count() == 2


def test_a_deploy_keeps_the_count_an_operator_raised_when_no_autoscaling_manages_the_service(
    sandbox: Sandbox,
) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    boto3.client("ecs", region_name="us-east-1").update_service(cluster="shine", service="shine", desiredCount=3)

    plan = sandbox.run("plan", "phase-2", "--image", GOOD_2, "--json").json()
    assert plan["desired_count"] == {
        "count": 3,
        "reason": "the live count (the phase asks 2; a deploy never shrinks)",
        "autoscaling": None,
    }
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    assert live_desired_count() == 3


def register_target(autoscaling: Any, resource_id: str, minimum: int, maximum: int) -> None:
    autoscaling.register_scalable_target(
        ServiceNamespace="ecs",
        ResourceId=resource_id,
        ScalableDimension="ecs:service:DesiredCount",
        MinCapacity=minimum,
        MaxCapacity=maximum,
    )


def unit_context(autoscaling: Any) -> Any:
    """What planned_count reads of a context: the cluster's name and the Application Auto Scaling client."""
    clients = SimpleNamespace(client=lambda name: autoscaling if name == "application-autoscaling" else None)
    return SimpleNamespace(clients=clients, settings=SimpleNamespace(service=SimpleNamespace(cluster="shine")))


def test_only_the_services_own_scalable_target_bounds_its_count(aws_env: None) -> None:
    from moto import mock_aws

    with mock_aws():
        ecs = boto3.client("ecs", region_name="us-east-1")
        ecs.create_cluster(clusterName="shine")
        ecs.register_task_definition(family="shine", containerDefinitions=[{"name": "app", "image": "x", "memory": 64}])
        for name in ("shine", "worker"):
            ecs.create_service(cluster="shine", serviceName=name, taskDefinition="shine", desiredCount=1)
        autoscaling = boto3.client("application-autoscaling", region_name="us-east-1")
        register_target(autoscaling, "service/shine/worker", 6, 9)  # another service of the cluster
        assert scaling_bounds(autoscaling, "shine", "shine") is None
        register_target(autoscaling, "service/shine/shine", 2, 5)

        assert scaling_bounds(autoscaling, "shine", "shine") == BOUNDS
        service = {"serviceName": "shine", "desiredCount": 7}
        planned = planned_count(unit_context(autoscaling), 1, service, None)
        requested = planned_count(unit_context(autoscaling), 1, service, 3)
    assert requested == DesiredCount(3, "--desired-count", BOUNDS)
    assert planned == DesiredCount(
        5,
        "the live count (the phase asks 1; a deploy never shrinks), kept within the autoscaling bounds 2-5 (was 7)",
        BOUNDS,
    )


def test_a_service_about_to_be_created_gets_the_phases_count_and_no_autoscaling_is_asked() -> None:
    context = unit_context(autoscaling=None)  # any call to Application Auto Scaling would fail

    assert planned_count(context, 2, None, None) == DesiredCount(2, "the phase's desired_count")
    assert planned_count(context, 2, None, 3) == DesiredCount(3, "--desired-count")


def test_within_the_bounds_the_reason_says_autoscaling_manages_the_count() -> None:
    kept = desired_count(phase_count=3, live_count=None, requested=None, bounds=BOUNDS)
    assert kept == DesiredCount(3, "the phase's desired_count; autoscaling manages it (2-5)", BOUNDS)
    raised = desired_count(phase_count=1, live_count=1, requested=None, bounds=BOUNDS)
    assert raised.reason == "the phase's desired_count, kept within the autoscaling bounds 2-5 (was 1)"
    assert desired_count(phase_count=2, live_count=2, requested=None, bounds=None).reason == "the phase's desired_count"


def test_the_bounds_themselves_are_within_the_bounds() -> None:
    for count in (2, 5):
        assert desired_count(phase_count=count, live_count=None, requested=None, bounds=BOUNDS) == DesiredCount(
            count, "the phase's desired_count; autoscaling manages it (2-5)", BOUNDS
        )
        assert desired_count(phase_count=1, live_count=1, requested=count, bounds=BOUNDS) == DesiredCount(
            count, "--desired-count", BOUNDS
        )


def test_a_desired_count_outside_the_bounds_says_how_to_fix_it() -> None:
    with pytest.raises(ConfigError) as refused:
        desired_count(phase_count=2, live_count=4, requested=1, bounds=BOUNDS)
    assert str(refused.value) == "--desired-count 1 is outside the autoscaling bounds 2-5 of service/shine/shine"
    assert refused.value.fix == "pass a count within them, or change the scalable target's min/max capacity"


def test_the_plans_desired_count_names_the_autoscaling_bounds_or_none() -> None:
    assert DesiredCount(4, "--desired-count", BOUNDS).to_json() == {
        "count": 4,
        "reason": "--desired-count",
        "autoscaling": {"resource_id": "service/shine/shine", "min": 2, "max": 5},
    }
    assert DesiredCount(1, "the phase's desired_count").to_json() == {
        "count": 1,
        "reason": "the phase's desired_count",
        "autoscaling": None,
    }
