"""What a deploy or rollback reports: its steps as they ran, its checks, and its exit code.

The exit code is decided here, once, from the outcome (docs/contract.md): 0 verified; 3 when a human
is needed now (the rollback or abort failed, or nothing verified exists to return to); 130 when
interrupted; else 1 (failed, and the service is back on a verified deployment or was never changed).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.checks.base import CheckResult
from snailtrail.errors import operator_error
from snailtrail.state.run_trail import RunTrail
from snailtrail.ui import Reporter


@dataclass
class StepRecord:
    name: str
    ok: bool
    duration_s: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "duration_s": round(self.duration_s, 3), "detail": self.detail}


@dataclass
class RunResult:
    """What deploy and rollback report (docs/contract.md's JSON shape) and the outcome."""

    ok: bool
    phase: str | None
    environment: str
    task_definition: str | None = None
    previous_task_definition: str | None = None
    rolled_back: bool = False
    rolled_back_to: str | None = None
    duration_s: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    message: str = ""
    fix: str | None = None
    interrupted: bool = False
    needs_human: bool = False  # the way back failed, or there is none: the service may run unverified

    @property
    def exit_code(self) -> int:
        if self.ok:
            return 0
        if self.needs_human:  # says more than an interrupt: a human is needed now
            return 3
        return 130 if self.interrupted else 1

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "phase": self.phase,
            "environment": self.environment,
            "task_definition": self.task_definition,
            "previous_task_definition": self.previous_task_definition,
            "rolled_back": self.rolled_back,
            "rolled_back_to": self.rolled_back_to,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_json() for s in self.steps],
            "checks": [c.to_json() for c in self.checks],
            "message": self.message,
            "fix": self.fix,
        }


def run_step(
    reporter: Reporter, run: RunTrail, result: RunResult, name: str, summary: str, action: Callable[[], str]
) -> str:
    """Run one step: spinner, timing, a trail event and a StepRecord whatever the outcome."""
    started = time.monotonic()
    task_definition = result.task_definition
    try:
        with reporter.step(name, summary):
            detail = action()
    except Exception as raw:  # every failure of a step is reported, and rolled back, the same way
        exc = operator_error(raw)
        duration = time.monotonic() - started
        result.steps.append(StepRecord(name, False, duration, exc.message))
        reporter.step_done(name, False, duration, exc.message)
        run.emit(
            "step",
            result.phase,
            exc.message,
            ok=False,
            duration_s=round(duration, 3),
            task_definition=task_definition,
            data={"step": name, "fix": exc.fix},
        )
        raise exc from raw
    duration = time.monotonic() - started
    result.steps.append(StepRecord(name, True, duration, detail))
    reporter.step_done(name, True, duration, detail)
    run.emit(
        "step",
        result.phase,
        detail,
        ok=True,
        duration_s=round(duration, 3),
        task_definition=result.task_definition,
        data={"step": name},
    )
    return detail
