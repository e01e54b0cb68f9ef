"""The service layer changes a service only while this run still holds the deploy lock."""

from __future__ import annotations

import boto3
import pytest

from snailtrail.config import load_settings
from snailtrail.context import Context
from snailtrail.plan import DeployOptions
from snailtrail.service_ops import ServiceOps
from snailtrail.steps import StepFailed
from snailtrail.ui import Reporter
from tests.commands.test_deploy import GOOD_1
from tests.conftest import Sandbox


def live_desired_count() -> int:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return ecs.describe_services(cluster="shine", services=["shine"])["services"][0]["desiredCount"]


def service_ops(sandbox: Sandbox) -> ServiceOps:
    context = Context(load_settings(str(sandbox.config)), Reporter(quiet=True))
    return ServiceOps.new_run(context, DeployOptions(poll_interval_s=0.05, timeout_s=20))


def test_scale_to_zero_under_a_held_lock_empties_the_service(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    ops = service_ops(sandbox)
    with ops.ctx.holding_lock("deploy phase-2"):
        assert ops.scale_to_zero("shine") is True
    assert live_desired_count() == 0


def test_scale_to_zero_after_the_lock_was_lost_refuses_and_leaves_the_service_running(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    ops = service_ops(sandbox)
    with ops.ctx.holding_lock("deploy phase-2"):
        ops.ctx.lock.lost.set()  # what the renewal thread does when the lease is taken over or removed
        with pytest.raises(StepFailed, match="the deploy lock was lost"):
            ops.scale_to_zero("shine")
    assert live_desired_count() == 1
