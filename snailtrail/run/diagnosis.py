"""Why a rollout's tasks stopped: their own evidence, and the verify checks that explain ECS's reason.

Each stop reason ECS gives maps to the checks that own its usual causes (Amazon ECS developer guide,
"Amazon ECS stopped task error messages" and "CannotPullContainer task errors"):

- CannotPullContainerError: no network path to the registry (routes, public IPs, endpoints), the image
  is missing, or the execution role may not pull it.
- CannotStartContainerError: the image is there, but its command could not start (an executable it
  names is not in the image, for instance): the image and the task definition's command.
- ResourceInitializationError: the secrets or the registry auth could not be fetched, or the log group
  is missing; the execution role, the secrets and the network path.
- exit code 137 / OutOfMemoryError: the memory limit.
- Task failed ELB health checks: the port chain, the security groups, the health-check path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.logs import LogsApi
from snailtrail.checks.base import CheckResult
from snailtrail.checks.task import OOM_REASON, SIGKILL_EXIT
from snailtrail.context import Context
from snailtrail.errors import operator_error
from snailtrail.run.task_logs import TaskEvidence, stopped_task_evidence

# (what ECS's reason contains, the cause in a few words, the checks that explain it), in catalogue names.
REASON_CHECKS: list[tuple[str, str, list[str]]] = [
    (
        "CannotPullContainerError",
        "the image could not be pulled",
        ["network path", "public ips", "image config", "roles"],
    ),
    (
        "CannotStartContainerError",
        "the container's command could not start (an executable missing from the image?)",
        ["image config"],
    ),
    (
        "ResourceInitializationError",
        "the task could not be initialised (secrets, registry auth, log group)",
        ["secrets exist", "roles", "log group", "network path"],
    ),
    (OOM_REASON, "killed for memory", ["memory"]),
    (
        "failed ELB health checks",
        "the load balancer's health checks failed",
        ["port alignment", "security groups", "health check path", "target health"],
    ),
]


def causes(task: dict[str, Any]) -> list[tuple[str, list[str]]]:
    """The causes one stopped task's reasons point to, each with the checks that explain it."""
    said = " ".join([task.get("stoppedReason") or ""] + [c.get("reason") or "" for c in task.get("containers", [])])
    found = [(cause, checks) for marker, cause, checks in REASON_CHECKS if marker in said]
    if any(c.get("exitCode") == SIGKILL_EXIT for c in task.get("containers", [])) and OOM_REASON not in said:
        found.append(("exit code 137: killed (the memory limit, or a stop timeout)", ["memory"]))
    return found


# How much a log line says about a failure: an error (an exception's own line, a FATAL, ERROR or
# CRITICAL level, a Go panic) over a warning (a drill announcing itself, a WARN level) over a bare
# "Traceback" header; anything else says less, and a line with no word in it (the closing brace of a
# pretty-printed JSON log record, a blank) says nothing. The last line is often the app carrying on after it.
_TELLING = (
    (3, re.compile(r"\b(FATAL|CRITICAL|ERROR)\b|\b\w*(Error|Exception)\b:|^panic:|\bfatal error\b")),
    (2, re.compile(r"\b(WARNING|WARN)\b")),
    (1, re.compile(r"^Traceback \(most recent call last\)")),
)


def most_telling(lines: list[str]) -> str:
    """The line likeliest to say why a task stopped: the latest of the highest rank in _TELLING, else the last."""

    def rank(line: str) -> int:
        if not re.search(r"\w", line):
            return -1
        return next((weight for weight, pattern in _TELLING if pattern.search(line)), 0)

    return max(reversed(lines), key=rank)


@dataclass
class FailureExplanation:
    """What an operator needs beside ECS's reason: the tasks' own last lines, and the checks that say why."""

    evidence: list[TaskEvidence]
    causes: list[str] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def summary(self) -> str:
        failing = [c.name for c in self.checks if c.status.value in ("fail", "warn")]
        said = f"{len(self.evidence)} stopped task(s): " + ("; ".join(self.causes) or "no known cause in the reason")
        return said + (f"; checks flagging it: {', '.join(failing)}" if failing else "")

    def lines(self) -> list[str]:
        out = [line for task in self.evidence for line in task.render()]
        if self.checks:
            out.append(f"checks for {'; '.join(self.causes)}:")
            for check in self.checks:
                out.append(f"  {check.status.value:<4} {check.name}: {check.summary}")
                if check.fix and check.status.value in ("fail", "warn"):
                    out.append(f"       fix: {check.fix}")
        return out

    def telling_lines(self) -> str:
        """Each task's most telling logged line (most_telling), for the failure's one-line message."""
        said = [
            f"task {task.task_id[:8]} logged: {most_telling(logged)}"
            for task in self.evidence
            for logged in task.logs.values()
            if logged
        ]
        return "; ".join(said)

    def to_json(self) -> dict[str, Any]:
        return {
            "tasks": [t.to_json() for t in self.evidence],
            "causes": self.causes,
            "checks": [c.to_json() for c in self.checks],
        }


def explain_stopped_tasks(ctx: Context, tasks: list[dict[str, Any]], phase_name: str | None) -> FailureExplanation:
    """Read the stopped tasks' evidence and run the checks their reasons point to."""
    definitions = {arn: ctx.history.get(arn).definition for arn in {t["taskDefinitionArn"] for t in tasks}}
    evidence = stopped_task_evidence(LogsApi(ctx.clients), definitions, tasks, ctx.clients.region)
    explanation = FailureExplanation(evidence)
    wanted: list[str] = []
    for task in tasks:
        for cause, checks in causes(task):
            if cause not in explanation.causes:
                explanation.causes.append(cause)
            wanted.extend(c for c in checks if c not in wanted)
    if not wanted:
        return explanation
    from snailtrail.checks.catalogue import run_checks
    from snailtrail.checks.view import LiveView

    ctx.refresh_live_service()  # the service now points at the revision whose tasks stopped
    report = run_checks(LiveView(ctx, ctx.endpoints.dns_server), ctx.phase_or_none(phase_name), wanted)
    explanation.checks = [result for _, result in report.results]
    return explanation


def report_stopped_tasks(
    ctx: Context,
    emit: Callable[..., None],
    tasks: list[dict[str, Any]],
    phase_name: str | None,
    task_definition: str | None,
) -> str:
    """Print the explanation under the failed step, keep it in the trail (``tasks.stopped``), and return
    the tasks' most telling log lines for the failure's message. Reading evidence never stops a rollback: an
    error here is said, and the failure goes on as it would have."""
    try:
        explanation = explain_stopped_tasks(ctx, tasks, phase_name)
    except Exception as raw:  # noqa: BLE001 - the rollback matters more than its explanation
        message = f"the stopped tasks' logs and checks could not be read: {operator_error(raw).message}"
        ctx.reporter.warn(message)
        emit("tasks.stopped", phase_name, message, ok=False, task_definition=task_definition)
        return ""
    for line in explanation.lines():
        ctx.reporter.note(line)
    emit(
        "tasks.stopped",
        phase_name,
        explanation.summary,
        ok=False,
        task_definition=task_definition,
        data=explanation.to_json(),
    )
    return explanation.telling_lines()
