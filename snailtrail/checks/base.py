"""The one shape every check has: name, status, one-line summary, fix, resources.

A check returns a Verdict (all but the name) built with ok/fail/warn/skip; its declaration names it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    PASS = "pass"  # noqa: S105 - a check status, not a password
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True)
class Verdict:
    """What a check found: its result but for the name, which the check's declaration (or caller) gives."""

    status: Status
    summary: str
    fix: str | None = None
    resources: list[str] = field(default_factory=list)

    def named(self, name: str) -> CheckResult:
        return CheckResult(name, self.status, self.summary, self.fix, list(self.resources))


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: Status
    summary: str
    fix: str | None = None
    resources: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    @property
    def verdict(self) -> Verdict:
        return Verdict(self.status, self.summary, self.fix, list(self.resources))

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status.value}


def ok(summary: str, resources: list[str] | None = None) -> Verdict:
    return Verdict(Status.PASS, summary, None, resources or [])


def fail(summary: str, fix: str, resources: list[str] | None = None) -> Verdict:
    return Verdict(Status.FAIL, summary, fix, resources or [])


def warn(summary: str, fix: str, resources: list[str] | None = None) -> Verdict:
    return Verdict(Status.WARN, summary, fix, resources or [])


def skip(summary: str) -> Verdict:
    return Verdict(Status.SKIP, summary)
