"""The one shape every check has: name, status, one-line summary, fix, resources."""

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
class CheckResult:
    name: str
    status: Status
    summary: str
    fix: str | None = None
    resources: list[str] = field(default_factory=list)

    @property
    def failed(self) -> bool:
        return self.status is Status.FAIL

    def to_json(self) -> dict[str, Any]:
        return asdict(self) | {"status": self.status.value}


def passed(name: str, summary: str, resources: list[str] | None = None) -> CheckResult:
    return CheckResult(name, Status.PASS, summary, None, resources or [])


def failed(name: str, summary: str, fix: str, resources: list[str] | None = None) -> CheckResult:
    return CheckResult(name, Status.FAIL, summary, fix, resources or [])


def warned(name: str, summary: str, fix: str, resources: list[str] | None = None) -> CheckResult:
    return CheckResult(name, Status.WARN, summary, fix, resources or [])


def skipped(name: str, summary: str) -> CheckResult:
    return CheckResult(name, Status.SKIP, summary)
