"""Each drill gives the outage users saw in its incident, and `sandbox heal` ends it.

Waits poll the sandbox until the reconciler has acted (their timeouts are a safety net, not a measure).
"""

from __future__ import annotations

from typing import Any

import boto3
import dns.message
import dns.query
import pytest

from tests.conftest import Sandbox
from tests.sandbox.test_front_door import get
from tests.sandbox.test_reconciler import wait_for

GOOD = "fake.local/shine:phase-1-good"


@pytest.fixture
def deployed(sandbox: Sandbox) -> Sandbox:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert get(sandbox.front_door_url + "/health")[0] == 200
    return sandbox


def target_health() -> list[dict[str, Any]]:
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    arn = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]["TargetGroupArn"]
    return [d["TargetHealth"] for d in elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]]


def events() -> list[str]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return [e["message"] for e in ecs.describe_services(cluster="shine", services=["shine"])["services"][0]["events"]]


def stopped_reasons() -> list[str]:
    ecs = boto3.client("ecs", region_name="us-east-1")
    arns = ecs.list_tasks(cluster="shine", desiredStatus="STOPPED")["taskArns"]
    tasks = ecs.describe_tasks(cluster="shine", tasks=arns)["tasks"] if arns else []
    return [t.get("stoppedReason", "") for t in tasks]


def front_door_status(sandbox: Sandbox) -> int:
    return get(sandbox.front_door_url + "/health")[0]


def healed(sandbox: Sandbox) -> None:
    sandbox.drill(None)
    wait_for(lambda: front_door_status(sandbox) == 200, timeout=30)


def test_sg_rule_drill_times_out_health_checks_and_users_get_504(deployed: Sandbox) -> None:
    deployed.drill("sg-rule")
    # The task still runs, but the load balancer's packets are dropped: its health checks time out
    # (Target.Timeout), and ECS replaces it, again and again; users find no healthy target.
    wait_for(lambda: any("due to (reason Request timed out)" in m for m in events()))
    wait_for(lambda: any(r.startswith("Task failed ELB health checks") for r in stopped_reasons()))
    wait_for(lambda: front_door_status(deployed) in (503, 504))
    healed(deployed)
    assert [h["State"] for h in target_health()] == ["healthy"]


def test_a_dropped_request_answers_504_naming_the_security_groups(deployed: Sandbox) -> None:
    deployed.drill("sg-rule")
    answers = wait_for(lambda: get(deployed.front_door_url + "/health") if front_door_status(deployed) == 504 else None)
    assert "admit nothing from the load balancer" in answers[1]["error"]
    healed(deployed)


def test_route_table_drill_stops_new_tasks_with_cannot_pull_container(deployed: Sandbox) -> None:
    deployed.drill("route-table")
    ecs = boto3.client("ecs", region_name="us-east-1")
    ecs.update_service(cluster="shine", service="shine", forceNewDeployment=True)
    reasons = wait_for(lambda: [r for r in stopped_reasons() if r.startswith("CannotPullContainerError")])
    assert "pull image manifest has been retried 5 time(s)" in reasons[0]
    assert "no route to an internet gateway" in reasons[0]
    healed(deployed)
    ecs.update_service(cluster="shine", service="shine", forceNewDeployment=True)

    def completed() -> bool:
        service = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
        return [d["rolloutState"] for d in service["deployments"]] == ["COMPLETED"]

    wait_for(completed, timeout=30)


def test_service_drill_leaves_no_target_and_users_get_503(deployed: Sandbox) -> None:
    deployed.drill("service")
    wait_for(lambda: front_door_status(deployed) == 503)
    healed(deployed)


def test_port_drill_fails_health_checks_of_the_new_tasks(deployed: Sandbox) -> None:
    deployed.drill("port")
    # Nothing listens on the target group's port: connections are refused (Target.FailedHealthChecks).
    wait_for(lambda: any("due to (reason Health checks failed)" in m for m in events()))
    wait_for(lambda: any(r.startswith("Task failed ELB health checks") for r in stopped_reasons()))
    healed(deployed)


def resolved(sandbox: Sandbox) -> set[str]:
    """The domain's addresses as a resolver on the internet gets them (the sandbox's DNS responder)."""
    import yaml

    host, port = yaml.safe_load(sandbox.config.read_text())["environments"]["unit"]["dns_server"].split(":")
    answer = dns.query.udp(dns.message.make_query("shine.sandbox.test", "A"), host, port=int(port), timeout=2)
    return {r.address for rrset in answer.answer for r in rrset if hasattr(r, "address")}


def route53_target() -> str:
    route53 = boto3.client("route53", region_name="us-east-1")
    zone = route53.list_hosted_zones_by_name(DNSName="sandbox.test")["HostedZones"][0]["Id"]
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    record = next(r for r in records if r["Name"].rstrip(".") == "shine.sandbox.test")
    return ((record.get("AliasTarget") or {}).get("DNSName") or record["ResourceRecords"][0]["Value"]).lower()


def dns_ownership(sandbox: Sandbox) -> dict[str, Any]:
    result = sandbox.run("verify", "--only", "dns ownership", "--json")
    return result.json()["checks"][0]


@pytest.mark.parametrize("kind", ["domain", "public-dns"])
def test_dns_drills_send_the_public_name_to_another_load_balancer(deployed: Sandbox, kind: str) -> None:
    assert resolved(deployed) == {"127.0.0.1"}  # the front door
    deployed.drill(kind)
    assert resolved(deployed) and "127.0.0.1" not in resolved(deployed)
    if kind == "public-dns":
        assert route53_target().startswith("shine-alb-")  # Route 53 looks right
    assert "does not reach shine-alb-1" in dns_ownership(deployed)["summary"]
    healed(deployed)
    assert resolved(deployed) == {"127.0.0.1"}
    assert dns_ownership(deployed)["status"] == "pass"


def test_route53_dns_drill_leaves_the_public_name_right_and_the_record_wrong(deployed: Sandbox) -> None:
    deployed.drill("route53-dns")
    assert resolved(deployed) == {"127.0.0.1"}
    assert route53_target().startswith("drill-other-alb-")
    check = dns_ownership(deployed)
    assert (
        check["status"] == "fail"
        and "the Route 53 record shine.sandbox.test points at drill-other-alb" in (check["summary"])
    )
    healed(deployed)
    assert route53_target().startswith("shine-alb-") and dns_ownership(deployed)["status"] == "pass"
