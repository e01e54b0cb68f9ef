"""The rollout timeout is what ECS needs to finish a deployment, read from the target group."""

from __future__ import annotations

import boto3

from tests.conftest import Sandbox


def test_plan_says_the_timeout_derived_from_the_target_group(sandbox: Sandbox) -> None:
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    elbv2.modify_target_group(
        TargetGroupArn=group["TargetGroupArn"], HealthCheckIntervalSeconds=10, HealthyThresholdCount=3
    )
    elbv2.modify_target_group_attributes(
        TargetGroupArn=group["TargetGroupArn"],
        Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": "600"}],
    )
    result = sandbox.run("plan", "phase-2")
    assert result.exit_code == 0, result.stderr
    # 120 s to start + the phase's grace (0 s) + 3 x 10 s health checks + 600 s draining: over the old fixed 600 s.
    assert (
        "Rollout timeout: 750 s = 120 s to start + 0 s grace + 3 x 10 s health checks + 600 s deregistration delay"
        in result.stdout
    )
    assert "watch the rollout (timeout 750 s)" in result.stdout


def test_an_explicit_timeout_wins(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    result = sandbox.run("deploy", "phase-2", "--image", "fake.local/shine:x", "--dry-run", "--timeout", "45")
    assert "Rollout timeout: 45 s (--timeout)" in result.stdout and "(timeout 45 s)" in result.stdout
