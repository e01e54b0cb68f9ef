"""Where a task's output is: ECS's awslogs stream name, or why it cannot be read."""

from __future__ import annotations

from typing import Any

from snailtrail.run.task_logs import LogSource, log_sources

TASK = "arn:aws:ecs:us-east-1:123456789012:task/shine/0123456789abcdef"


def definition(log_configuration: dict[str, Any] | None) -> dict[str, Any]:
    container: dict[str, Any] = {"name": "app"}
    if log_configuration is not None:
        container["logConfiguration"] = log_configuration
    return {"containerDefinitions": [container]}


def awslogs(**options: str) -> dict[str, Any]:
    return {"logDriver": "awslogs", "options": options}


def test_the_stream_is_prefix_container_task_id() -> None:
    sources = log_sources(
        definition(awslogs(**{"awslogs-group": "/ecs/shine", "awslogs-stream-prefix": "web"})), TASK, "us-east-1"
    )
    assert sources == [LogSource("0123456789abcdef", "app", "/ecs/shine", "web/app/0123456789abcdef")]


def test_each_missing_piece_is_named() -> None:
    cases = {
        "no logConfiguration": definition(None),
        "fluentd driver": definition({"logDriver": "fluentd"}),
        "no awslogs-stream-prefix": definition(awslogs(**{"awslogs-group": "/ecs/shine"})),
        "names no awslogs-group": definition(awslogs(**{"awslogs-stream-prefix": "web"})),
        "region eu-west-1": definition(
            awslogs(**{"awslogs-group": "g", "awslogs-stream-prefix": "web", "awslogs-region": "eu-west-1"})
        ),
    }
    for says, task_definition in cases.items():
        [source] = log_sources(task_definition, TASK, "us-east-1")
        assert source.stream is None and says in (source.unavailable or ""), (says, source)
