"""verify --junit and --format github: reports CI reads, parsed back as CI would."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from snailtrail.checks.base import CheckResult, Status
from snailtrail.checks.catalogue import VerifyReport
from snailtrail.checks.ci_report import github_annotations, junit_xml
from snailtrail.checks.spec import CheckSpec
from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"


def report_of(*results: tuple[str, CheckResult]) -> VerifyReport:
    specs = [(CheckSpec(r.name, layer, "", "", lambda view, phase: r), r) for layer, r in results]
    return VerifyReport(specs, 0.5, 3)


MIXED = report_of(
    ("network", CheckResult("security groups", Status.FAIL, "admit nothing on port 8000", "allow 8000 from the ALB")),
    ("container", CheckResult("image config", Status.WARN, "image by tag", "pin the digest")),
    ("app", CheckResult("success criteria", Status.SKIP, "no phase")),
    ("dns", CheckResult("dns ownership", Status.PASS, "resolves to shine-alb")),
)


def test_junit_has_one_testcase_per_check_with_layer_as_classname_and_fix_in_failures() -> None:
    suite = ET.fromstring(junit_xml(MIXED, "unit").split("\n", 1)[1]).find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("4", "1", "1")
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert {name: c.get("classname") for name, c in cases.items()} == {
        "security groups": "network",
        "image config": "container",
        "success criteria": "app",
        "dns ownership": "dns",
    }
    failure = cases["security groups"].find("failure")
    assert failure is not None and failure.get("message") == "admit nothing on port 8000"
    assert "fix: allow 8000 from the ALB" in (failure.text or "")
    assert cases["success criteria"].find("skipped") is not None
    warning = cases["image config"]
    assert warning.find("failure") is None and warning.find("skipped") is None
    assert "WARNING" in (warning.findtext("system-out") or "") and "pin the digest" in warning.findtext("system-out")


def test_github_annotations_escape_newlines_percent_and_property_separators() -> None:
    report = report_of(
        ("network", CheckResult("a, b: c", Status.FAIL, "100% down\r\nreally", "fix it")),
        ("dns", CheckResult("dns ownership", Status.PASS, "fine")),
    )
    lines = github_annotations(report, "unit")
    assert lines[0] == "::error title=verify unit%3A network / a%2C b%3A c::100%25 down%0D%0Areally%0Afix: fix it"
    assert lines[1] == "::notice title=verify unit::FAILED (1 check(s))"
    assert len(lines) == 2  # a passing check is not annotated


def test_github_annotations_warn_for_warnings() -> None:
    assert github_annotations(MIXED, "unit")[1].startswith("::warning title=verify unit%3A container / image config::")


def test_verify_writes_a_junit_report_and_prints_annotations(sandbox: Sandbox, tmp_path: Path) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    report = tmp_path / "verify.xml"
    result = sandbox.run("verify", "--junit", str(report), "--format", "github")
    assert result.exit_code == 0, result.stdout + result.stderr
    root = ET.parse(report).getroot()
    names = [case.get("name") for case in root.iter("testcase")]
    assert "dns ownership" in names and "port alignment" in names
    assert result.stdout.strip().splitlines()[-1] == "::notice title=verify unit::ok"
    assert "::warning title=verify unit%3A container / image config::" in result.stdout


@pytest.mark.parametrize("args", [("--format", "github", "--json"), ("--format", "xml")])
def test_verify_refuses_conflicting_or_unknown_formats(sandbox: Sandbox, args: tuple[str, ...]) -> None:
    assert sandbox.run("verify", *args).exit_code == 2
