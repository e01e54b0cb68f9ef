"""Render the trail as a readable rollout log, and derive each phase's state from it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.config.phases import Phase


@dataclass(frozen=True)
class PhaseState:
    name: str
    short_name: str
    state: str  # not started | in progress | verified | failed | rolled back | interrupted
    verified_at: str | None
    task_definition: str | None

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "short_name": self.short_name,
            "state": self.state,
            "verified_at": self.verified_at,
            "task_definition": self.task_definition,
        }


def phase_states(events: list[dict[str, Any]], phases: list[Phase]) -> list[PhaseState]:
    states = []
    for phase in phases:
        mine = [e for e in events if e.get("phase") == phase.name]
        finished = [e for e in mine if e["kind"] == "deploy.finished"]
        # A deploy that finished ok verified its phase (older trails also carry a phase.verified event).
        verified = [
            e for e in mine if e["kind"] == "phase.verified" or (e["kind"] == "deploy.finished" and e.get("ok"))
        ]
        started = [e for e in mine if e["kind"] == "deploy.started"]
        if finished and not finished[-1].get("ok"):
            rolled_back = (finished[-1].get("data") or {}).get("rolled_back_to")
            state = "rolled back" if rolled_back else "failed"
            if _interrupted(mine, finished[-1].get("run_id")):  # a SIGTERM or Ctrl-C is not a failure of the phase
                state = "interrupted, rolled back" if rolled_back else "interrupted"
            if verified:
                state += " (verified before)"
        elif verified:
            state = "verified"
        elif started:
            state = "in progress"
        else:
            state = "not started"
        last = verified[-1] if verified else None
        states.append(
            PhaseState(
                phase.name,
                phase.short_name,
                state,
                last["at"] if last else None,
                last.get("task_definition") if last else None,
            )
        )
    return states


def _short(arn: str | None) -> str:
    return arn.rsplit("/", 1)[-1] if arn else "-"


def _clock(at: str) -> str:
    return at[11:19] if len(at) >= 19 else at


def render_markdown(events: list[dict[str, Any]], phases: list[Phase], service: str, environment: str) -> str:
    lines = [
        f"# Rollout trail: {service} ({environment})",
        "",
        "## Phases",
        "",
        "| phase | state | verified at | task definition |",
        "|---|---|---|---|",
    ]
    for state in phase_states(events, phases):
        lines.append(
            f"| {state.name} ({state.short_name}) | {state.state} | {state.verified_at or '-'} | "
            f"{_short(state.task_definition)} |"
        )
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(event.get("run_id", "?"), []).append(event)
    lines += ["", "## Timeline", ""]
    if not runs:
        lines.append("No deployments yet.")
    for run_events in runs.values():
        first = run_events[0]
        finished = next(
            (e for e in reversed(run_events) if e["kind"] in ("deploy.finished", "rollback.finished")), None
        )
        if finished is None and first["kind"] == "run.started":  # `snailtrail run`: a one-off task on its own
            finished = next((e for e in run_events if e["kind"] == "run.finished"), None)
        outcome = (
            "in progress or interrupted"
            if finished is None
            else "succeeded"
            if finished.get("ok")
            else "interrupted"
            if _interrupted(run_events, first.get("run_id"))
            else "failed"
        )
        duration = f", {finished['duration_s']:.1f} s" if finished and finished.get("duration_s") is not None else ""
        lines.append(
            f"### {first['at'][:19].replace('T', ' ')} {first.get('detail') or first['kind']} "
            f"— {outcome}{duration}, by {first.get('actor', '?')}"
        )
        lines.append("")
        for event in run_events:
            if event["kind"] != "phase.verified":  # older trails' event: the mark step and the phase table say it
                lines.append(_event_line(event))
        lines.append("")
    problems = [e for e in events if e["kind"] in PROBLEM_KINDS]
    lines += ["## Failures, rollbacks and aborts", ""]
    if not problems:
        lines.append("None.")
    for event in problems:
        fix = (event.get("data") or {}).get("fix")
        lines.append(
            f"- {event['at'][:19].replace('T', ' ')} **{event['kind']}** ({event.get('phase') or '-'}): "
            f"{event.get('detail', '')}" + (f" — fix: {fix}" if fix else "")
        )
    return "\n".join(lines) + "\n"


PROBLEM_KINDS = (
    "deploy.failed",
    "deploy.interrupted",
    "gate.failed",
    "deployment.rollback-requested",
    "ecs.rolled-back",
    "deployment.rollback-unfinished",
    "rollback.started",
    "rollback.finished",
    "rollback.impossible",
    "rollout.aborted",
    "traffic.restored",
    "rollout.abort-failed",
    "tasks.stopped",
    "notification.failed",
)


def _interrupted(events: list[dict[str, Any]], run_id: str | None) -> bool:
    kinds = ("deploy.interrupted", "rollback.interrupted")
    return any(e["kind"] in kinds and e.get("run_id") == run_id for e in events)


def _event_line(event: dict[str, Any]) -> str:
    kind = event["kind"]
    mark = {True: "✓", False: "✗"}.get(event.get("ok"), "•")
    duration = f" ({event['duration_s']:.1f} s)" if event.get("duration_s") is not None else ""
    if kind == "step":
        step = (event.get("data") or {}).get("step", "step")
        return f"- {_clock(event['at'])} {mark} {step}: {event.get('detail', '')}{duration}"
    line = f"- {_clock(event['at'])} {mark} {kind}: {event.get('detail', '')}{duration}"
    if kind == "tasks.stopped":  # the stopped tasks' own last lines, as diagnosis.py kept them
        logged = [
            f"    {task['task'][:8]} {container} | {message}"
            for task in (event.get("data") or {}).get("tasks", [])
            for container, messages in task.get("logs", {}).items()
            for message in messages
        ]
        if logged:
            line += "\n\n    ```text\n" + "\n".join(logged) + "\n    ```"
    if kind == "run.finished" and (event.get("data") or {}).get("output"):  # a one-off task's last lines
        line += "\n\n    ```text\n" + "\n".join(f"    {message}" for message in event["data"]["output"]) + "\n    ```"
    return line
