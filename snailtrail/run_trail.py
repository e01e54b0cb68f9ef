"""One run's trail: every event a deploy or rollback writes carries the run's id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.trail import Event, Trail


@dataclass(frozen=True)
class RunTrail:
    trail: Trail
    run_id: str

    def emit(self, kind: str, phase: str | None, detail: str = "", **extra: Any) -> None:
        self.trail.emit(Event(kind=kind, run_id=self.run_id, phase=phase, detail=detail, **extra))
