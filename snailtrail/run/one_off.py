"""One-off tasks: a command run once in a task of a phase's revision, in the service's network (ECS RunTask).

`snailtrail run` and a phase's ``before_deploy`` tasks both run here. ECS runs the task: RunTask with a
containerOverrides command, the service's launch type and awsvpc network; its output is read back from
the awslogs stream ECS writes (PREFIX/CONTAINER/TASK_ID); the container's exitCode and the task's
stoppedReason come from DescribeTasks; ``timeout_s`` ends it with StopTask. snailtrail only waits,
shows and records: run.started and run.finished (exit code, stopped reason, log stream, last lines).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.logs import LogsApi
from snailtrail.config.phases import Phase
from snailtrail.config.validation import redact, redact_command
from snailtrail.context import Context
from snailtrail.errors import ConfigError
from snailtrail.plan.steps import BeforeDeployStep, StepFailed
from snailtrail.plan.taskdef import Revision, fingerprint, render
from snailtrail.run.service_ops import configured_network
from snailtrail.run.task_logs import EVIDENCE_LINES, clip, log_sources
from snailtrail.state.run_trail import RunTrail
from snailtrail.state.schema import TAG_SCHEMA, current_schema, incompatibility, record_schema

STARTED_BY = "snailtrail-run"  # RunTask's startedBy: ListTasks --started-by finds every task snailtrail ran
CANNOT_START_EXIT = 1
TIMEOUT_EXIT = 124  # as timeout(1) exits when its command timed out
# After StopTask, how long to wait for STOPPED: ECS sends SIGKILL 30 s after SIGTERM (API reference, StopTask).
STOP_GRACE_S = 60.0


@dataclass(frozen=True)
class TaskRevision:
    """The revision a one-off task runs, and why that one: ``live`` (the service runs it), ``verified``
    (the phase's last verified revision) or ``new`` (a deploy's, just registered)."""

    revision: Revision
    source: str


def adopted(ctx: Context, phase: Phase, live: Revision) -> bool:
    """Whether the service runs a revision snailtrail never registered that the phase renders exactly (a
    service `init --from-service` adopted, before its first deploy: `plan` shows it no change)."""
    app = next(
        (
            c
            for c in live.definition.get("containerDefinitions", [])
            if c.get("name") == ctx.settings.service.container_name
        ),
        None,
    )
    if live.phase is not None or app is None:
        return False
    return fingerprint(render(ctx.settings, phase, app["image"])) == fingerprint(live.definition)


def phase_revision(ctx: Context, phase: Phase) -> TaskRevision:
    """The phase's revision the service runs (also the untagged one of an adopted service that the phase renders
    exactly), else its last verified ACTIVE one; refused when it has neither."""
    service = ctx.live_service
    live_arn = service.get("taskDefinition") if service else None
    live = ctx.history.get(live_arn) if live_arn else None
    if live is not None and (live.phase == phase.name or adopted(ctx, phase, live)):
        return TaskRevision(live, "live")
    others = frozenset(r.arn for r in ctx.history.verified() if r.phase != phase.name)
    verified = ctx.history.last_verified(exclude=others)
    if verified is not None:
        return TaskRevision(verified, "verified")
    runs = f"{live.arn} ({live.phase or 'no phase'})" if live is not None else "nothing"
    raise ConfigError(
        f"{phase.name} has no revision to run: the service runs {runs}, and no ACTIVE revision of {phase.name} "
        "has verified",
        fix=f"deploy it first (`snailtrail deploy {phase.name}`), or name the phase the service runs",
    )


def schema_warning(ctx: Context, chosen: TaskRevision) -> str | None:
    """Why the revision may not run against the database's schema (a phase older than its migrations), or None."""
    if TAG_SCHEMA not in chosen.revision.tags:
        return None
    why = incompatibility(chosen.revision.tags, current_schema(ctx.trail.events()))
    return f"{chosen.revision.arn.rsplit('/', 1)[-1]} {why}" if why else None


def container_named(definition: dict[str, Any], wanted: str) -> dict[str, Any]:
    """The revision's container of that name; refused (exit 2) with the names it has."""
    containers = definition.get("containerDefinitions", [])
    found = next((c for c in containers if c.get("name") == wanted), None)
    if found is None:
        names = ", ".join(c.get("name", "?") for c in containers)
        raise ConfigError(
            f"{definition.get('taskDefinitionArn', 'the revision')} has no container named {wanted}",
            fix=f"--container one of: {names}",
        )
    return found


def placement(ctx: Context) -> dict[str, Any]:
    """RunTask's launch type (or capacity providers) and awsvpc network: the live service's, else what the
    configuration names (a first deploy's service does not exist yet)."""
    service = ctx.live_service
    if service and service.get("networkConfiguration"):
        how: dict[str, Any] = (
            {"capacityProviderStrategy": service["capacityProviderStrategy"]}
            if service.get("capacityProviderStrategy")
            else {"launchType": service.get("launchType") or ctx.settings.service.launch_type}
        )
        return how | {"networkConfiguration": service["networkConfiguration"]}
    return {"launchType": ctx.settings.service.launch_type, "networkConfiguration": configured_network(ctx)}


@dataclass
class OneOffResult:
    """How a one-off task ended: its container's exit code, or why it could not start, or that it timed out."""

    name: str
    task_definition: str
    container: str
    command: list[str]  # as shown: redacted
    task_arn: str | None = None
    exit_code: int | None = None
    stopped_reason: str = ""
    timed_out: bool = False
    log_group: str | None = None
    log_stream: str | None = None
    logs_unavailable: str | None = None
    output: list[str] = field(default_factory=list)  # its last lines, redacted and clipped
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out

    @property
    def exit_status(self) -> int:
        """What `snailtrail run` exits with: the container's code, 124 on --timeout, 1 when it never ran."""
        if self.timed_out:
            return TIMEOUT_EXIT
        return CANNOT_START_EXIT if self.exit_code is None else self.exit_code

    @property
    def message(self) -> str:
        task = self.task_arn.rsplit("/", 1)[-1][:8] if self.task_arn else "not started"
        if self.timed_out:
            return f"{self.name} (task {task}) did not finish in time and was stopped: {self.stopped_reason}"
        if self.exit_code is None:
            return f"{self.name} (task {task}) could not start: {self.stopped_reason or 'no reason given'}"
        return f"{self.name} (task {task}) exited {self.exit_code}"

    @property
    def fix(self) -> str | None:
        if self.timed_out:
            return "raise --timeout, or make the command finish sooner"
        if self.exit_code is None:
            return "the reason is ECS's: `snailtrail verify` checks the image, network and log group it may name"
        return None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "name": self.name,
            "task": self.task_arn,
            "task_definition": self.task_definition,
            "container": self.container,
            "command": self.command,
            "exit_code": self.exit_code,
            "stopped_reason": self.stopped_reason,
            "timed_out": self.timed_out,
            "logs": {"group": self.log_group, "stream": self.log_stream, "unavailable": self.logs_unavailable},
            "output": self.output,
            "duration_s": round(self.duration_s, 3),
        }


@dataclass
class OneOffTask:
    """What to run: a command in one container of a revision, named for the trail."""

    name: str
    phase: str
    revision: TaskRevision
    container: str
    command: list[str]
    timeout_s: float | None = None


def run_one_off(
    ctx: Context, run: RunTrail, task: OneOffTask, poll_s: float, on_line: Callable[[str], None]
) -> OneOffResult:
    """Run the task until it stops, its output passed to ``on_line`` as it arrives; never raises for the task's
    own failure (the result says it). Ctrl-C stops the task before the interrupt goes on."""
    revision = task.revision.revision
    container = container_named(revision.definition, task.container)
    result = OneOffResult(task.name, revision.arn, task.container, redact_command(task.command))
    request = placement(ctx) | {
        "taskDefinition": revision.arn,
        "count": 1,
        "startedBy": STARTED_BY,
        "overrides": {"containerOverrides": [{"name": container["name"], "command": list(task.command)}]},
    }
    started = time.monotonic()
    run.emit(
        "run.started",
        task.phase,
        f"{task.name}: {' '.join(result.command)} in {task.container} of {revision.arn} ({task.revision.source})",
        task_definition=revision.arn,
        data={
            "name": task.name,
            "container": task.container,
            "command": result.command,
            "source": task.revision.source,
        },
    )
    try:
        _run(ctx, task, request, result, poll_s, on_line)
    except KeyboardInterrupt:
        if result.task_arn:
            ctx.ecs.stop_task(result.task_arn, "snailtrail run was interrupted")
        result.stopped_reason = "interrupted: the task was stopped"
        _finished(run, task, result, started)
        raise
    _finished(run, task, result, started)
    return result


def _run(
    ctx: Context,
    task: OneOffTask,
    request: dict[str, Any],
    result: OneOffResult,
    poll_s: float,
    on_line: Callable[[str], None],
) -> None:
    answer = ctx.ecs.run_task(request)
    if not answer.get("tasks"):
        failure = (answer.get("failures") or [{}])[0]
        result.stopped_reason = ": ".join(p for p in (failure.get("reason"), failure.get("detail")) if p)
        return
    result.task_arn = answer["tasks"][0]["taskArn"]
    source = next(
        (
            s
            for s in log_sources(task.revision.revision.definition, result.task_arn, ctx.clients.region)
            if s.container == task.container
        ),
        None,
    )
    if source is not None and source.unavailable is None:
        result.log_group, result.log_stream = source.group, source.stream
    else:
        result.logs_unavailable = source.unavailable if source else "no log configuration"
    reader = LogsApi(ctx.clients)
    token: str | None = None

    def drain() -> None:
        nonlocal token
        if result.log_group and result.log_stream:
            events, token = reader.events_after(result.log_group, result.log_stream, token)
            for event in events:
                line = redact(event["message"].rstrip("\n"))
                result.output = [*result.output, clip(line)][-EVIDENCE_LINES:]
                on_line(line)

    begun = time.monotonic()
    stop_deadline: float | None = None
    while True:
        time.sleep(poll_s)
        described = ctx.ecs.describe_task(result.task_arn) or {}
        drain()
        if described.get("lastStatus") == "STOPPED":
            break
        elapsed = time.monotonic() - begun
        if task.timeout_s is not None and elapsed >= task.timeout_s and stop_deadline is None:
            result.timed_out = True
            ctx.ecs.stop_task(result.task_arn, f"snailtrail run: --timeout {task.timeout_s:g} s reached")
            stop_deadline = elapsed + STOP_GRACE_S
        if stop_deadline is not None and elapsed >= stop_deadline:
            result.stopped_reason = f"StopTask was sent and the task had not stopped {STOP_GRACE_S:.0f} s later"
            return
    drain()
    ran = next((c for c in described.get("containers", []) if c.get("name") == task.container), {})
    result.exit_code = ran.get("exitCode")
    result.stopped_reason = described.get("stoppedReason", "")
    if ran.get("reason") and result.exit_code is None and ran["reason"] not in result.stopped_reason:
        result.stopped_reason += f" ({ran['reason']})"


def _finished(run: RunTrail, task: OneOffTask, result: OneOffResult, started: float) -> None:
    result.duration_s = time.monotonic() - started
    run.emit(
        "run.finished",
        task.phase,
        result.message,
        ok=result.ok,
        duration_s=round(result.duration_s, 3),
        task_definition=result.task_definition,
        data={
            "name": result.name,
            "task": result.task_arn,
            "exit_code": result.exit_code,
            "stopped_reason": result.stopped_reason,
            "timed_out": result.timed_out,
            "log_group": result.log_group,
            "log_stream": result.log_stream,
            "output": result.output,
        },
    )


def before_deploy(
    ctx: Context, run: RunTrail, phase: str, revision: Revision, step: BeforeDeployStep, poll_s: float
) -> str:
    """A before_deploy step: its task run with the new revision; a failure stops the deploy, its output shown."""
    task = OneOffTask(
        step.task, phase, TaskRevision(revision, "new"), step.container, list(step.command), step.timeout_s
    )
    result = run_one_off(ctx, run, task, poll_s, lambda line: ctx.reporter.note(f"| {line}"))
    if not result.ok:
        shown = "".join(f"\n  | {line}" for line in result.output)
        raise StepFailed(
            f"before_deploy task {step.task} failed, so the service was not changed: {result.message}"
            + (f"; its last lines:{shown}" if shown else ""),
            fix=result.fix
            or f"fix the task (`snailtrail trail` keeps its output; `snailtrail run {phase} -- ...` "
            "tries a command with a revision that runs), then deploy again",
        )
    if step.leaves_schema is not None:
        record_schema(run, phase, step.leaves_schema, f"the before_deploy tasks of {phase}")
    return result.message
