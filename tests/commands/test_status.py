"""`status` says what an operator must know before acting: a service caught mid-rollout, whatever its
revision's history, and a lock whose holder is a dead process on this host."""

from __future__ import annotations

import socket
import subprocess
import sys
import time

import boto3

from tests.conftest import Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-2-good"


def test_a_service_mid_rollout_to_a_verified_revision_is_said_to_be_mid_rollout(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    phase_1 = sandbox.run("status", "--json").json()
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    assert sandbox.run("status", "--json").json()["mid_rollout"] is False
    # `deploy phase-1` again, killed after its UpdateService to the reused, verified revision: ECS goes on.
    with sandbox.reconciler_by_hand() as reconcile:
        boto3.client("ecs", region_name="us-east-1").update_service(
            cluster="shine", service="shine", taskDefinition=phase_1["task_definition"]
        )
        reconcile()
        document = sandbox.run("status", "--json").json()
        human = sandbox.run("status").stdout
    assert (document["phase"], document["verified_at"]) == ("phase-1", phase_1["verified_at"])
    assert document["mid_rollout"] is True, document["deployments"]
    assert human.splitlines()[0].startswith("Service shine (unit): MID-ROLLOUT to phase-1")


def test_a_lock_held_by_a_dead_process_of_this_host_is_said_to_be_dead(sandbox: Sandbox) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    item = {
        "pk": {"S": "lock#unit#shine"},
        "sk": {"S": "lock"},
        "token": {"S": "killed-deploy"},
        "owner": {"S": "ops@example"},
        "host": {"S": socket.gethostname()},
        "pid": {"N": str(gone.pid)},
        "command": {"S": "deploy phase-2"},
        "since": {"S": "2026-12-02T12:00:00+00:00"},
        "expires_at": {"N": str(time.time() + 300)},
    }
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName="snailtrail-state", Item=item)
    document = sandbox.run("status", "--json").json()
    assert document["lock"]["holder_gone"] is True
    human = sandbox.run("status").stdout
    assert f"its holder, pid {gone.pid} on this host, is no longer running" in human
    assert "snailtrail unlock --force" in human


def test_a_lock_held_by_a_live_process_is_not_said_to_be_dead(sandbox: Sandbox) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.ui import Reporter

    context = Context(load_settings(str(sandbox.config)), Reporter(quiet=True))
    with context.holding_lock("deploy phase-2"):
        document = sandbox.run("status", "--json").json()
    assert document["lock"]["holder_gone"] is False
