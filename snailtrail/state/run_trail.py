"""One run's trail: every event a deploy or rollback writes carries the run's id."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from snailtrail.state.trail import Event, Trail


@dataclass(frozen=True)
class RunTrail:
    trail: Trail
    run_id: str

    def emit(self, kind: str, phase: str | None, detail: str = "", **extra: Any) -> None:
        self.trail.emit(Event(kind=kind, run_id=self.run_id, phase=phase, detail=detail, **extra))


@dataclass(frozen=True)
class UnfinishedRun:
    run_id: str
    command: str  # deploy | rollback
    phase: str | None
    task_definition: str | None


def unfinished_runs(events: Iterable[dict[str, Any]]) -> list[UnfinishedRun]:
    """Runs that started and never wrote their end: a deploy without deploy.finished, a rollback on its own
    without rollback.finished or rollback.interrupted."""
    runs: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        runs.setdefault(str(event.get("run_id")), []).append(event)
    found = []
    for run_id, mine in runs.items():
        kinds = {event.get("kind") for event in mine}
        if "deploy.started" in kinds:
            command, ends = "deploy", {"deploy.finished"}
        elif "rollback.started" in kinds:
            command, ends = "rollback", {"rollback.finished", "rollback.interrupted"}
        else:
            continue
        if not kinds & ends:
            started = next(e for e in mine if e.get("kind") == f"{command}.started")
            found.append(UnfinishedRun(run_id, command, started.get("phase"), mine[-1].get("task_definition")))
    return found


def close_killed_runs(trail: Trail, closing_command: str) -> list[UnfinishedRun]:
    """Write the end of every unfinished run: it was killed (SIGKILL, a lost machine) before it could.

    Called with the deploy lock held, by the command that took it over: no other run can be live, so an
    unfinished one will never finish. A deploy ends as an interrupted one does (deploy.interrupted, then
    deploy.finished with exit code 130); a rollback with rollback.interrupted, which leaves the next
    rollback to finish it (history.unfinished_rollback)."""
    killed = unfinished_runs(trail.events())
    for run in killed:
        said = (
            f"{run.command} ended without finishing (its process was killed or its machine lost); "
            f"closed as interrupted by `{closing_command}`"
        )
        closing = RunTrail(trail, run.run_id)
        closing.emit(f"{run.command}.interrupted", run.phase, said, ok=False, task_definition=run.task_definition)
        if run.command == "deploy":
            closing.emit(
                "deploy.finished",
                run.phase,
                said,
                ok=False,
                task_definition=run.task_definition,
                data={"exit_code": 130, "rolled_back_to": None},
            )
    return killed
