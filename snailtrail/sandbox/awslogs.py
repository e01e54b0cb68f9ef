"""The awslogs log driver: a task's stdout and stderr shipped to CloudWatch Logs, as ECS ships them.

Group from ``awslogs-group``, region from ``awslogs-region``, stream ``prefix/container-name/task-id`` from
``awslogs-stream-prefix`` (AWS docs, "Using the awslogs log driver": "the format
prefix-name/container-name/ecs-task-id"). A group that does not exist is not created unless
``awslogs-create-group`` is ``true``; the task then fails to start with the error Fargate gives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.sandbox import moto_bridge as bridge

# What a Fargate task's stoppedReason says when its awslogs group is missing (AWS docs, "Amazon ECS
# stopped tasks errors": ResourceInitializationError ... failed to validate logger args).
MISSING_GROUP = (
    "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
    "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not exist. "
    ": exit status 1"
)


@dataclass(frozen=True)
class LogStream:
    region: str
    group: str
    stream: str

    def ship(self, lines: list[tuple[int, str]]) -> None:
        if lines:
            bridge.put_log_events(self.region, self.group, self.stream, lines)


def stream_name(options: dict[str, str], container_name: str, task_id: str) -> str:
    prefix = options.get("awslogs-stream-prefix")
    # Without a prefix (allowed outside Fargate) the stream is named after the container alone.
    return f"{prefix}/{container_name}/{task_id}" if prefix else task_id


def open_stream(region: str, container: dict[str, Any], task_id: str) -> LogStream | str | None:
    """The task's stream, created; None when the container does not use awslogs; the stop reason when it cannot."""
    configuration = container.get("logConfiguration") or {}
    if configuration.get("logDriver") != "awslogs":
        return None
    options = configuration.get("options") or {}
    group_region = options.get("awslogs-region", region)
    group = options.get("awslogs-group", "")
    if not bridge.log_group_exists(group_region, group):
        if options.get("awslogs-create-group", "").lower() != "true":
            return MISSING_GROUP
        bridge.create_log_group(group_region, group)
    stream = LogStream(group_region, group, stream_name(options, container["name"], task_id))
    bridge.create_log_stream(stream.region, stream.group, stream.stream)
    return stream
