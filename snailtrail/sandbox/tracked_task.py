"""A task the reconciler runs: its moto record, its containers' handle, where it answers and what its health
checks have seen. Its own module so the native deployments' driver can name it without importing the reconciler."""

from __future__ import annotations

from dataclasses import dataclass, field

from moto.ecs.models import Task

from snailtrail.sandbox.awslogs import LogStream


@dataclass
class TrackedTask:
    task: Task
    handle: str
    deployment_id: str
    ip: str
    started: float
    healthy_streak: int = 0
    unhealthy_streak: int = 0
    last_check: float = 0.0
    healthy: bool = False
    registered: list[tuple[str, int]] = field(default_factory=list)
    subnet: str = ""
    groups: list[str] = field(default_factory=list)
    ports: dict[int, tuple[str, int]] = field(default_factory=dict)  # container port -> where it answers
    failure: str | None = None  # why the task could not start (image pull, log driver)
    logs: dict[str, LogStream] = field(default_factory=dict)  # container name -> its awslogs stream
    draining_until: float | None = None  # deregistration delay running out (monotonic clock)
    stop_reason: str = ""
