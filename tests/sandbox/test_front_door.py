"""The front door honours the listener's forward weights and only sends to healthy targets."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from snailtrail.checks.criteria import fetch
from snailtrail.sandbox.certificate import write_certificate
from snailtrail.sandbox.front_door import FrontDoor
from tests.conftest import Sandbox


def get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_no_healthy_target_answers_503(sandbox: Sandbox) -> None:
    status, body = get(sandbox.front_door_url + "/health")
    assert status == 503 and "no healthy targets" in body["error"]


def test_weights_split_traffic_between_target_groups(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    idle = sandbox.extra_target_group("shine-idle")
    # A second target group with no targets: weight 0 keeps all traffic on the live one.
    sandbox.forward({"shine-tg": 100, idle: 0})
    sandbox.front_door.served.clear()
    for _ in range(20):
        assert get(sandbox.front_door_url + "/health")[0] == 200
    live = next(iter(sandbox.front_door.served))
    assert live.split("/")[-2] == "shine-tg" and sandbox.front_door.served == {live: 20}
    # All weight on a group without healthy targets: nothing to send to.
    sandbox.forward({"shine-tg": 0, idle: 1})
    assert get(sandbox.front_door_url + "/health")[0] == 503


@pytest.mark.parametrize("path", ["/health", "/ml/status"])
def test_answers_come_from_the_task(sandbox: Sandbox, path: str) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    status, _ = get(sandbox.front_door_url + path)
    assert status == 200


def test_a_path_no_rule_claims_gets_the_listeners_fixed_404(sandbox: Sandbox) -> None:
    """Rules first, by priority; what none claims gets the listener's default action, here its fixed 404."""
    import boto3

    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listener = next(
        x
        for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        if x["Port"] == 443
    )
    rule = next(r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if r["Priority"] == "10")
    elbv2.modify_rule(RuleArn=rule["RuleArn"], Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}])
    try:
        urllib.request.urlopen(sandbox.front_door_url + "/health", timeout=5)
        raise AssertionError("answered 2xx")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404 and exc.read() == b"no route"


def tls_door(
    sandbox: Sandbox, tmp_path: Path, listener_port: int, loopback_ports: dict[int, int]
) -> tuple[FrontDoor, str]:
    """A front door serving the stack's HTTPS listener on ``listener_port`` with a sandbox certificate; the
    certificate's path (what a client trusts)."""
    files, _, _ = write_certificate(tmp_path, "shine.sandbox.test")
    door = FrontDoor(
        "us-east-1",
        "shine-alb",
        listener_port,
        sandbox.reconciler.route,
        tls=files.server_context(),
        loopback_ports=loopback_ports,
    )
    door.start()
    return door, str(files.certificate)


def test_the_https_listener_answers_with_tls_that_the_sandbox_certificate_verifies(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    door, ca_file = tls_door(sandbox, tmp_path, 443, {})
    try:
        assert door.url.startswith("https://127.0.0.1:")
        assert fetch(door.url + "/health", ca_file=ca_file).status == 200
        # A client that does not trust the sandbox's certificate is refused: nothing turns verification off.
        refused = fetch(door.url + "/health")
        assert refused.status is None and "CERTIFICATE_VERIFY_FAILED" in str(refused.error)
    finally:
        door.stop()


def test_port_80_answers_its_default_action_a_301_to_the_https_listener(sandbox: Sandbox, tmp_path: Path) -> None:
    """The stack's listener 80 redirects (HTTPS, port ListenerPort, HTTP_301); the front door playing it sends the
    client to the front door that plays listener 443, keeping the host, path and query."""
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    ports: dict[int, int] = {}
    https, ca_file = tls_door(sandbox, tmp_path, 443, ports)
    plain = FrontDoor("us-east-1", "shine-alb", 80, sandbox.reconciler.route, loopback_ports=ports)
    plain.start()
    try:
        locations = []
        for target in ("/health", "/ml/status?verbose=1"):
            connection = http.client.HTTPConnection("127.0.0.1", plain.port, timeout=5)
            connection.request("GET", target, headers={"Host": "shine.sandbox.test"})
            answer = connection.getresponse()
            assert answer.status == 301
            locations.append(answer.getheader("Location"))
        assert locations == [
            f"https://shine.sandbox.test:{https.port}/health",
            f"https://shine.sandbox.test:{https.port}/ml/status?verbose=1",
        ]
        assert fetch(locations[0].replace("shine.sandbox.test", "127.0.0.1"), ca_file=ca_file).status == 200
    finally:
        plain.stop()
        https.stop()
