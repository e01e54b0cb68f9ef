"""The front door honours the listener's forward weights and only sends to healthy targets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

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
        x for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"] if x["Port"] == 80
    )
    rule = next(r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if r["Priority"] == "10")
    elbv2.modify_rule(RuleArn=rule["RuleArn"], Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}])
    try:
        urllib.request.urlopen(sandbox.front_door_url + "/health", timeout=5)
        raise AssertionError("answered 2xx")
    except urllib.error.HTTPError as exc:
        assert exc.code == 404 and exc.read() == b"Not Found"
