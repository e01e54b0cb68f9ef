"""The awslogs driver: what a task prints is in CloudWatch Logs under ECS's stream name."""

from __future__ import annotations

from typing import Any

import boto3

from tests.conftest import CRASHING, Sandbox
from tests.sandbox.test_reconciler import wait_for

GROUP = "/ecs/shine"  # the environment's log group, which provisioning created


def with_missing_log_group(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda d: d["environments"]["unit"].update(log_group="/ecs/shine-missing"))


def tasks(desired: str = "RUNNING") -> list[dict[str, Any]]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_tasks(cluster="shine", desiredStatus=desired)["taskArns"]
    return ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"] if arns else []


def messages(stream: str) -> list[str]:
    events = boto3.client("logs", region_name="us-east-1").get_log_events(logGroupName=GROUP, logStreamName=stream)
    return [e["message"] for e in events["events"]]


def test_a_task_output_lands_in_the_prefix_container_task_id_stream(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    task = tasks()[0]
    container = task["containers"][0]["name"]
    stream = f"shine/{container}/{task['taskArn'].rsplit('/', 1)[-1]}"
    # What the app printed at start-up, and a line for each request the load balancer's checks made.
    lines = wait_for(lambda: messages(stream))
    assert lines[0] == "listening on port 8000"
    assert "GET /health 200" in lines


def test_a_crashing_task_leaves_its_last_words_in_the_stream(sandbox: Sandbox) -> None:
    sandbox.break_phase("phase-1", CRASHING)
    assert sandbox.deploy("phase-1", "fake.local/shine:crash").exit_code == 3
    stopped = tasks("STOPPED")[0]
    stream = f"shine/{stopped['containers'][0]['name']}/{stopped['taskArn'].rsplit('/', 1)[-1]}"
    assert "ModuleNotFoundError: no module named cv2" in messages(stream)


def test_a_missing_log_group_stops_the_task_as_fargate_does(sandbox: Sandbox) -> None:
    with_missing_log_group(sandbox)
    result = sandbox.deploy("phase-1", "fake.local/shine:one")
    assert result.exit_code == 3
    reason = tasks("STOPPED")[0]["stoppedReason"]
    assert reason.startswith("ResourceInitializationError: failed to validate logger args")
    assert "The specified log group does not exist" in reason
