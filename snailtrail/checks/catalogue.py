"""The catalogue of verify's checks, in the order traffic flows, and the runner."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from botocore.exceptions import BotoCoreError, ClientError

from snailtrail.checks.base import CheckResult, fail
from snailtrail.checks.spec import DECLARED, LAYERS, CheckSpec
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase


def guarded(spec: CheckSpec, view: LiveView, phase: Phase | None) -> CheckResult:
    """The check's verdict under its declared name; a check that cannot ask AWS fails with the error,
    instead of taking the others down."""
    try:
        verdict = spec.run(view, phase)
    except (ClientError, BotoCoreError) as exc:
        verdict = fail(
            f"could not be checked: {exc}",
            "check that the credentials' policy allows the describe calls this check makes",
        )
    except Exception as exc:  # noqa: BLE001 - one broken check must not take the others down
        verdict = fail(
            f"could not run: {type(exc).__name__}: {exc}",
            "run with --verbose and report it; the other checks are unaffected",
        )
    return verdict.named(spec.name)


@dataclass
class VerifyReport:
    results: list[tuple[CheckSpec, CheckResult]]
    duration_s: float
    api_calls: int

    @property
    def ok(self) -> bool:
        return not any(result.failed for _, result in self.results)


def selected(only: list[str] | None) -> list[CheckSpec]:
    import snailtrail.checks.app
    import snailtrail.checks.infra
    import snailtrail.checks.rollback_readiness
    import snailtrail.checks.service
    import snailtrail.checks.task  # noqa: F401 - declaration by import

    specs = sorted(DECLARED, key=lambda s: LAYERS.index(s.layer))
    if only:
        unknown = sorted(set(only) - {s.name for s in specs})
        if unknown:
            from snailtrail.errors import ConfigError

            raise ConfigError(f"unknown check(s): {', '.join(unknown)}", fix="`snailtrail verify --list` names them")
        specs = [s for s in specs if s.name in only]
    return specs


def run_checks(
    view: LiveView,
    phase: Phase | None,
    only: list[str] | None = None,
    started: float | None = None,
    calls_before: int = 0,
) -> VerifyReport:
    """Run the selected checks concurrently; time and calls count from ``started``/``calls_before``
    (the caller's start, so choosing the phase and creating clients are included)."""
    specs = selected(only)
    started = time.monotonic() if started is None else started
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda spec: guarded(spec, view, phase), specs))
    return VerifyReport(
        list(zip(specs, results, strict=True)), time.monotonic() - started, view.ctx.clients.total_calls - calls_before
    )
