"""verify: everything passes on a healthy deployment; each incident fails the check that owns it."""

from __future__ import annotations

import pytest

from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"


@pytest.fixture
def deployed(sandbox: Sandbox) -> Sandbox:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    return sandbox


def drill(sandbox: Sandbox, kind: str | None) -> None:
    sandbox.drill(kind)


def checks_by_name(sandbox: Sandbox, *args: str) -> tuple[int, dict[str, dict]]:
    result = sandbox.run("verify", "--json", *args)
    document = result.json()
    return result.exit_code, {c["name"]: c for c in document["checks"]}


def test_healthy_deployment_passes_every_check_in_traffic_order(deployed: Sandbox) -> None:
    result = deployed.run("verify", "--json")
    assert result.exit_code == 0, result.stdout
    document = result.json()
    assert document["ok"] and document["phase"] == "phase-1" and document["api_calls"] > 0
    statuses = {c["name"]: c["status"] for c in document["checks"]}
    assert {name for name, status in statuses.items() if status == "fail"} == set()
    assert statuses["dns ownership"] == "pass" and statuses["port alignment"] == "pass"
    # A fake image referenced by tag is a warning, never a pass: what runs could change under it.
    assert statuses["image config"] == "warn"
    layers = [c["layer"] for c in document["checks"]]
    assert layers.index("dns") < layers.index("service") < layers.index("app")


def test_describe_calls_are_not_repeated(deployed: Sandbox) -> None:
    deployed.api_calls.clear()
    assert deployed.run("verify", "--json").exit_code == 0
    # ListTasks takes one desired status a call: RUNNING (target health) and STOPPED (memory), once each.
    assert deployed.api_calls["ecs.ListTasks"] == 2
    # The trail is read once, though the grace-period and rollback-readiness checks both look at it.
    assert deployed.api_calls["dynamodb.Query"] == 1
    repeated = {call: count for call, count in deployed.api_calls.items() if count > 1 and call != "ecs.ListTasks"}
    # One read per resource: the native setup has two listeners (their rules), two target groups, a second role.
    assert repeated == {"elbv2.DescribeRules": 2, "elbv2.DescribeTargetGroups": 2, "iam.GetRole": 2}


@pytest.mark.parametrize(
    "kind, check, says",
    [
        ("sg-rule", "security groups", "admit nothing on port 8000"),
        ("route-table", "network path", "not an internet gateway"),
        ("domain", "dns ownership", "does not reach shine-alb-1"),
        ("service", "service active", "does not exist"),
        ("port", "port alignment", "✗ PORT 8080"),
    ],
)
def test_each_drill_fails_its_check_and_heal_restores_it(deployed: Sandbox, kind: str, check: str, says: str) -> None:
    drill(deployed, kind)
    code, checks = checks_by_name(deployed)
    assert code == 1
    assert checks[check]["status"] == "fail", checks[check]
    assert says in checks[check]["summary"]
    assert checks[check]["fix"]
    drill(deployed, None)
    code, checks = checks_by_name(deployed, "--only", check)
    assert checks[check]["status"] == "pass", checks[check]


def test_port_drill_runs_an_unverified_revision_the_load_balancer_entry_still_fits(deployed: Sandbox) -> None:
    drill(deployed, "port")
    _, checks = checks_by_name(deployed, "--only", "load balancer entries", "--only", "verified revision")
    assert checks["load balancer entries"]["status"] == "pass"  # ECS refuses a revision without the mapped port
    assert "was never verified" in checks["verified revision"]["summary"]


def test_listener_forwarding_elsewhere_fails(deployed: Sandbox) -> None:
    deployed.forward({deployed.extra_target_group("elsewhere"): 1})
    code, checks = checks_by_name(deployed, "--only", "listener forwards")
    assert code == 1
    assert "forwards to elsewhere, not shine-tg" in checks["listener forwards"]["summary"]


def test_unverified_revision_and_failing_criteria_fail(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert sandbox.deploy("phase-3", "fake.local/shine:phase-3-good", "--no-rollback").exit_code == 1
    code, checks = checks_by_name(sandbox)
    assert code == 1
    assert checks["verified revision"]["status"] == "fail"
    assert checks["ml mode"]["status"] == "fail" and "'basic'" in checks["ml mode"]["summary"]
    assert checks["success criteria"]["status"] == "pass"


def test_unhealthy_targets_fail_target_health(sandbox: Sandbox) -> None:
    # Only unhealthy tasks exist: no healthy old task can make the target group look fine.
    sandbox.break_phase("phase-1", SHINE_DRILL_HEALTH="failing")
    unhealthy = sandbox.deploy("phase-1", "fake.local/shine:phase-1-unhealthy", "--no-rollback", "--timeout", "2")
    assert unhealthy.exit_code == 1
    code, checks = checks_by_name(sandbox, "--only", "target health", "--only", "port alignment")
    assert code == 1
    assert checks["target health"]["status"] == "fail"
    assert (
        checks["port alignment"]["status"] == "fail"
        and "✗ app no healthy target" in checks["port alignment"]["summary"]
    )


def test_list_prints_the_catalogue(sandbox: Sandbox) -> None:
    result = sandbox.run("verify", "--list", "--json")
    names = [c["name"] for c in result.json()["checks"]]
    assert "port alignment" in names and "dns ownership" in names and len(names) >= 15


def test_unknown_check_exits_2(sandbox: Sandbox) -> None:
    result = sandbox.run("verify", "--only", "nonsense")
    assert result.exit_code == 2 and "verify --list" in result.stderr


def test_docs_describe_every_check() -> None:
    from snailtrail.checks.catalogue import selected
    from tests.conftest import REPO

    documented = (REPO / "docs" / "checks.md").read_text()
    missing = [spec.name for spec in selected(None) if f"### {spec.name}\n" not in documented]
    assert missing == []


def test_the_incidents_doc_names_the_check_and_the_drill_for_each_incident_they_cite() -> None:
    import re

    from snailtrail.checks.catalogue import selected
    from snailtrail.sandbox.drills import DRILLS
    from tests.conftest import REPO

    rows = {}  # incident number -> (what answers it, its drill)
    for line in (REPO / "docs" / "incidents.md").read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[0].isdigit():
            rows[int(cells[0])] = (cells[2], cells[3])

    def cited(text: str) -> list[int]:
        numbers = re.match(r"[\d, ]+(?=:)", text)
        return [int(n) for n in numbers.group().split(",")] if numbers else []

    unanswered = [
        (spec.name, number)
        for spec in selected(None)
        for number in cited(spec.prevents)
        if f"`{spec.name}`" not in rows.get(number, ("", ""))[0]
    ]
    undrilled = [
        (drill.kind, number)
        for drill in DRILLS.values()
        for number in cited(drill.incident)
        if f"`{drill.kind}` (caught by `{drill.caught_by}`)" not in rows.get(number, ("", ""))[1]
    ]
    assert sorted(rows) == list(range(1, 15))
    assert unanswered == [], unanswered
    assert undrilled == [], undrilled


def test_drills_refuse_a_non_sandbox_environment(deployed: Sandbox) -> None:
    for args in (("sandbox", "break", "service"), ("sandbox", "heal")):
        result = deployed.run(*args)
        assert result.exit_code == 2 and "is not a sandbox" in result.stderr
    assert deployed.run("verify", "--only", "service active").exit_code == 0


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("localhost:5000", "http://localhost:5000"),
        ("[::1]:5000", "http://[::1]:5000"),
        ("registry.example.com", "https://registry.example.com"),
        ("10.0.0.5:5000", "https://10.0.0.5:5000"),
    ],
)
def test_the_image_check_reads_registries_over_https_except_on_loopback(host: str, url: str) -> None:
    from snailtrail.checks.registry import registry_base_url

    assert registry_base_url(host) == url
