"""The CI plugin (tests/ci_plugin.py) both suites load, and the strictness of the project's pytest config.

Each case runs a small suite in a pytest of its own (pytester, in a subprocess: the plugin's Hypothesis
profile is global state this process must not take on).
"""

from __future__ import annotations

import pytest

from tests.conftest import REPO

ENGINE_SKIP = """
from tests.ci_plugin import skip_without_engine

def test_needs_the_engine():
    skip_without_engine("no Docker engine reachable (refused)")
"""


def run_suite(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, source: str, ci: bool) -> pytest.RunResult:
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    if ci:
        monkeypatch.setenv("CI", "true")
    else:
        monkeypatch.delenv("CI", raising=False)
    pytester.makepyfile(test_suite=source)
    return pytester.runpytest_subprocess("-p", "tests.ci_plugin", "-p", "no:cacheprovider", "-rs", "-s")


def test_under_ci_an_engine_problem_fails_the_test_whatever_its_markers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_suite(pytester, monkeypatch, ENGINE_SKIP, ci=True)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CI=true: this container test cannot skip (no Docker engine reachable (refused))*"])


def test_outside_ci_an_engine_problem_skips_saying_why(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_suite(pytester, monkeypatch, ENGINE_SKIP, ci=False)

    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*no Docker engine reachable (refused)*"])


def test_under_ci_an_engine_problem_in_a_fixture_fails_the_tests_set_up(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
import pytest
from tests.ci_plugin import skip_without_engine

@pytest.fixture
def engine():
    skip_without_engine("base image missing")

def test_runs_a_container(engine):
    pass
"""
    result = run_suite(pytester, monkeypatch, source, ci=True)

    result.assert_outcomes(errors=1)  # pytest reports a failed set-up as an error
    result.stdout.fnmatch_lines(["*CI=true: this container test cannot skip (base image missing)*"])


def test_under_ci_a_docker_marked_test_cannot_skip_for_any_reason(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
import pytest

@pytest.mark.docker
def test_builds_an_image():
    pytest.skip("registry down")
"""
    pytester.makeini("[pytest]\nmarkers = docker: needs the engine\n")
    result = run_suite(pytester, monkeypatch, source, ci=True)

    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*CI=true: this container test cannot skip (Skipped: registry down)*"])


def test_under_ci_a_skip_for_another_reason_stays_a_skip(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = """
import pytest

def test_only_on_windows():
    pytest.skip("not on this platform")
"""
    result = run_suite(pytester, monkeypatch, source, ci=True)

    result.assert_outcomes(skipped=1)


HYPOTHESIS_SETTINGS = """
from hypothesis import settings

def test_prints_the_settings():
    print(f"derandomize={settings.default.derandomize} database={settings.default.database}")
"""


def test_under_ci_hypothesis_is_derandomised_with_no_example_database(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_suite(pytester, monkeypatch, HYPOTHESIS_SETTINGS, ci=True)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*derandomize=True database=None*"])


def test_outside_ci_hypothesis_keeps_its_random_examples(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = run_suite(pytester, monkeypatch, HYPOTHESIS_SETTINGS, ci=False)

    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*derandomize=False*"])


def test_the_projects_pytest_config_refuses_an_unregistered_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_typo="""
import pytest

@pytest.mark.dockr
def test_builds_an_image():
    pass
"""
    )
    config = str(REPO / "pyproject.toml")
    result = pytester.runpytest_subprocess(
        "-c", config, "--rootdir", str(pytester.path), "-n", "0", "-p", "no:cacheprovider"
    )

    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*'dockr' not found in `markers` configuration option*"])
