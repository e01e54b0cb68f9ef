"""verify's results in the formats CI systems read: a JUnit XML report and GitHub Actions annotations."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from snailtrail.checks.base import Status
from snailtrail.checks.catalogue import VerifyReport


def junit_xml(report: VerifyReport, environment: str) -> str:
    """One testcase per check, classname = its layer. A failure carries the summary and the fix; a
    skipped check is <skipped/>; a warning passes (JUnit has no warning state), its summary and fix
    in <system-out> so the report still shows it."""
    results = report.results
    suite = ET.Element(
        "testsuite",
        name=f"snailtrail verify {environment}",
        tests=str(len(results)),
        failures=str(sum(1 for _, r in results if r.status is Status.FAIL)),
        skipped=str(sum(1 for _, r in results if r.status is Status.SKIP)),
        errors="0",
        time=f"{report.duration_s:.3f}",
    )
    for spec, result in results:
        case = ET.SubElement(suite, "testcase", name=result.name, classname=spec.layer)
        details = "\n".join(
            [result.summary]
            + ([f"fix: {result.fix}"] if result.fix else [])
            + [f"resource: {resource}" for resource in result.resources]
        )
        if result.status is Status.FAIL:
            ET.SubElement(case, "failure", message=result.summary, type="check failed").text = details
        elif result.status is Status.SKIP:
            ET.SubElement(case, "skipped", message=result.summary)
        elif result.status is Status.WARN:
            ET.SubElement(case, "system-out").text = f"WARNING (passes; not a failure): {details}"
        else:
            ET.SubElement(case, "system-out").text = details
    root = ET.Element("testsuites", name="snailtrail verify")
    root.append(suite)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


# Escaping as GitHub's runner reads workflow commands (actions/toolkit packages/core/src/command.ts,
# escapeData / escapeProperty; docs.github.com "Workflow commands for GitHub Actions"): '%' first, then
# CR and LF in the message; property values also escape ':' and ',' which separate properties.
def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(report: VerifyReport, environment: str) -> list[str]:
    """``::error`` for each failed check and ``::warning`` for each warning, the fix in the message;
    a ``::notice`` line sums up the run so a clean verify is visible in the job's summary too."""
    commands = {Status.FAIL: "error", Status.WARN: "warning"}
    lines = []
    for spec, result in report.results:
        command = commands.get(result.status)
        if command is None:
            continue
        title = _escape_property(f"verify {environment}: {spec.layer} / {result.name}")
        message = result.summary + (f"\nfix: {result.fix}" if result.fix else "")
        lines.append(f"::{command} title={title}::{_escape_data(message)}")
    failed = sum(1 for _, r in report.results if r.failed)
    verdict = "ok" if report.ok else f"FAILED ({failed} check(s))"
    lines.append(f"::notice title={_escape_property(f'verify {environment}')}::{_escape_data(verdict)}")
    return lines
