"""What CI demands of both suites (tests/ and service/tests/), as one pytest plugin.

Under ``CI=true``:
- a test that cannot have its container engine (no engine, no base image, no registry) fails instead of
  skipping, whatever its markers: CI exists to run the container tests, and a skip there would pass a
  build whose containers were never tried. A test marked ``docker`` cannot skip at all there;
- Hypothesis is derandomised (the ``ci`` profile): a build fails or passes on the same examples every
  time, and a failure seen on CI is the one a developer reproduces.

Loaded by each suite's conftest (``pytest_plugins``); tested in tests/test_ci_plugin.py.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import NoReturn

import pytest


class EngineUnavailable(pytest.skip.Exception):  # type: ignore[misc,name-defined]
    """The skip of a test that needs the container engine (or its base image or registry) and cannot have it."""


def skip_without_engine(problem: str) -> NoReturn:
    """Skip the test for an engine problem: a skip outside CI, a failure under it."""
    raise EngineUnavailable(problem, allow_module_level=True)


def under_ci() -> bool:
    return os.environ.get("CI") == "true"


def pytest_configure(config: pytest.Config) -> None:
    try:
        from hypothesis import settings
    except ImportError:  # the service's suite runs without Hypothesis
        return
    # derandomize: examples come from a hash of the test, not a seed; no database: nothing carried over
    # from an earlier run changes what a build tries.
    settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
    if under_ci():
        settings.load_profile("ci")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if not (report.skipped and under_ci()):
        return report
    engine = call.excinfo.value.msg if call.excinfo and call.excinfo.errisinstance(EngineUnavailable) else None
    if engine or item.get_closest_marker("docker"):
        reason = engine or (report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr))
        report.outcome = "failed"
        report.longrepr = f"CI=true: this container test cannot skip ({reason})"
    return report
