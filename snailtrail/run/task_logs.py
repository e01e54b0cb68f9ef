"""Where ECS sends a task's container output, and a stopped task's evidence: reason, exit codes, last lines.

The awslogs driver writes each container of a task to the stream ``PREFIX/CONTAINER/TASK_ID`` of the
group its logConfiguration names (Amazon ECS developer guide, "Send Amazon ECS logs to CloudWatch",
awslogs-stream-prefix). Without a prefix the stream is named by the Docker container id, which the
ECS API does not return, so those logs cannot be found by task; that is said, never skipped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from snailtrail.aws.logs import LogsApi
from snailtrail.context import Context
from snailtrail.run.deployment_watch import describe_stop

# Bounds on what a failure keeps in the trail: enough to show the cause, never a whole log.
EVIDENCE_TASKS = 3
EVIDENCE_LINES = 20
LINE_CHARS = 400


@dataclass(frozen=True)
class LogSource:
    """One container of one task: its awslogs group and stream, or why its output cannot be read."""

    task_id: str
    container: str
    group: str | None = None
    stream: str | None = None
    unavailable: str | None = None


def task_id(task_arn: str) -> str:
    return task_arn.rsplit("/", 1)[-1]


def log_sources(definition: dict[str, Any], task_arn: str, region: str) -> list[LogSource]:
    """Each container's log stream for this task of this task definition."""
    ident = task_id(task_arn)
    sources = []
    for container in definition.get("containerDefinitions", []):
        name = container.get("name", "?")
        config = container.get("logConfiguration") or {}
        options = config.get("options") or {}
        driver = config.get("logDriver")
        if driver is None:
            # snailtrail renders awslogs whenever a log group is configured, so this revision was registered
            # elsewhere (or before the environment named one): the fix is a revision of ours, not a setting.
            reason = (
                f"the container has no logConfiguration in {definition.get('taskDefinitionArn', 'this revision')}: "
                "ECS kept none of its output (revisions snailtrail registers log to the environment's log_group; "
                "this one was registered without it)"
            )
        elif driver != "awslogs":
            reason = f"the container logs through the {driver} driver; only awslogs output can be read"
        elif not options.get("awslogs-group"):
            reason = "its awslogs configuration names no awslogs-group"
        elif not options.get("awslogs-stream-prefix"):
            reason = (
                "its awslogs configuration has no awslogs-stream-prefix: the stream is named by the Docker "
                "container id, which ECS does not report (set awslogs-stream-prefix)"
            )
        elif options.get("awslogs-region", region) != region:
            reason = f"its logs go to region {options['awslogs-region']}, not the environment's {region}"
        else:
            group, prefix = options["awslogs-group"], options["awslogs-stream-prefix"]
            sources.append(LogSource(ident, name, group, f"{prefix}/{name}/{ident}"))
            continue
        sources.append(LogSource(ident, name, unavailable=reason))
    return sources


def clip(message: str) -> str:
    line = message.rstrip("\n")
    return line if len(line) <= LINE_CHARS else line[: LINE_CHARS - 1] + "…"


@dataclass
class TaskEvidence:
    """Why a task stopped, in ECS's words and its own: stopped reason, exit codes, last log lines."""

    task_id: str
    stopped: str
    logs: dict[str, list[str]] = field(default_factory=dict)  # container -> its last lines
    unavailable: dict[str, str] = field(default_factory=dict)  # container -> why none were read

    def to_json(self) -> dict[str, Any]:
        return {"task": self.task_id, "stopped": self.stopped, "logs": self.logs, "logs_unavailable": self.unavailable}

    def render(self) -> list[str]:
        lines = [f"task {self.task_id[:8]}: {self.stopped}"]
        for container, logged in self.logs.items():
            if logged:
                lines.append(f"  last {len(logged)} log line(s) of container {container}:")
                lines.extend(f"    | {line}" for line in logged)
            else:
                lines.append(f"  container {container} wrote nothing to its log stream")
        lines.extend(f"  no logs of container {c}: {why}" for c, why in self.unavailable.items())
        return lines


def newest_stopped(tasks: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The EVIDENCE_TASKS tasks that stopped last."""
    return sorted(tasks, key=lambda t: str(t.get("stoppedAt") or t.get("createdAt") or ""), reverse=True)[
        :EVIDENCE_TASKS
    ]


def stopped_task_evidence(
    logs: LogsApi, definitions: dict[str, dict[str, Any]], tasks: list[dict[str, Any]], region: str
) -> list[TaskEvidence]:
    """The newest stopped tasks' evidence (at most EVIDENCE_TASKS, EVIDENCE_LINES lines a container).

    ``definitions`` maps each task's taskDefinitionArn to its task definition.
    """
    evidence = []
    for task in newest_stopped(tasks):
        found = TaskEvidence(task_id(task["taskArn"]), describe_stop(task))
        definition = definitions.get(task.get("taskDefinitionArn", ""), {})
        for source in log_sources(definition, task["taskArn"], region):
            if source.unavailable is not None:
                found.unavailable[source.container] = source.unavailable
                continue
            events = logs.last_events(source.group or "", source.stream or "", EVIDENCE_LINES)
            if events is None:
                found.unavailable[source.container] = (
                    f"log stream {source.stream} of group {source.group} does not exist "
                    "(the container may never have started, or the group is missing)"
                )
            else:
                found.logs[source.container] = [clip(e["message"]) for e in events]
        evidence.append(found)
    return evidence


@dataclass(frozen=True)
class LogLine:
    timestamp_ms: int
    task_id: str
    container: str
    message: str
    event_id: str

    def to_json(self) -> dict[str, Any]:
        return {
            "at": datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).isoformat(timespec="milliseconds"),
            "task": self.task_id,
            "container": self.container,
            "message": self.message,
        }

    def render(self) -> str:
        at = datetime.fromtimestamp(self.timestamp_ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]
        return f"{at} {self.task_id[:8]} {self.container} | {self.message.rstrip()}"


def read_since(logs: LogsApi, sources: list[LogSource], start_ms: int) -> list[LogLine]:
    """The sources' events from ``start_ms`` on, oldest first: one FilterLogEvents (paginated) per group
    and container, since every task of a container writes under ``PREFIX/CONTAINER/``."""
    by_request: dict[tuple[str, str], list[LogSource]] = {}
    for source in sources:
        if source.group and source.stream:
            by_request.setdefault((source.group, source.stream.rsplit("/", 1)[0] + "/"), []).append(source)
    lines = []
    for (group, prefix), wanted in by_request.items():
        for event in logs.events_since(group, prefix, start_ms):
            stream = event.get("logStreamName", "")
            # Matched here too: a control plane may ignore the prefix (moto does), and a task id given
            # short (--task 1a2b3c4d) names the stream by its start.
            source = next((s for s in wanted if stream.startswith(s.stream or "")), None)
            if source is not None:
                lines.append(
                    LogLine(
                        event["timestamp"],
                        stream.rsplit("/", 1)[-1],
                        source.container,
                        event["message"],
                        event["eventId"],
                    )
                )
    return sorted(lines, key=lambda line: (line.timestamp_ms, line.event_id))


def follow(
    logs: LogsApi,
    sources: Callable[[], list[LogSource]],
    start_ms: int,
    on_line: Callable[[LogLine], None],
    interval_s: float,
) -> None:
    """Print new lines as they arrive, one read every ``interval_s``, until interrupted (KeyboardInterrupt
    propagates). ``sources`` is asked again each round, so tasks that start meanwhile are followed too.
    Events are read from the newest timestamp seen, inclusive, and told apart by their event id."""
    seen: dict[str, int] = {}
    while True:
        for line in read_since(logs, sources(), start_ms):
            if line.event_id not in seen:
                seen[line.event_id] = line.timestamp_ms
                on_line(line)
        start_ms = max(seen.values(), default=start_ms)
        seen = {ident: at for ident, at in seen.items() if at >= start_ms}
        time.sleep(interval_s)


def selected_sources(ctx: Context, task: str | None, previous: bool) -> list[LogSource]:
    """The log sources of the live service's running tasks; of its newest stopped ones (``previous``);
    or of one task by id or id prefix. A task ECS no longer lists (it forgets stopped tasks after about
    an hour) is still read, from its stream under the service's current task definition."""
    region = ctx.clients.region
    service_name = ctx.settings.service.name
    if task:
        tasks = [t for t in ctx.ecs.service_tasks(service_name) if task_id(t["taskArn"]).startswith(task)]
        if not tasks:
            service = ctx.live_service or {}
            if not service.get("taskDefinition"):
                return []
            definition = ctx.history.get(service["taskDefinition"]).definition
            return log_sources(definition, task, region)
    elif previous:
        tasks = newest_stopped(ctx.ecs.service_tasks(service_name, ("STOPPED",)))
    else:
        tasks = ctx.ecs.service_tasks(service_name, ("RUNNING",))
    return [
        source
        for t in tasks
        for source in log_sources(ctx.history.get(t["taskDefinitionArn"]).definition, t["taskArn"], region)
    ]
