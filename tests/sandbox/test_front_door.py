"""The front door honours the listener's forward weights and only sends to healthy targets."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import boto3
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
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    live = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    # A second target group with no targets: weight 0 keeps all traffic on the live one.
    idle = elbv2.create_target_group(
        Name="shine-idle", Protocol="HTTP", Port=8000, VpcId=live["VpcId"], TargetType="ip"
    )["TargetGroups"][0]
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listener = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"][0]
    elbv2.modify_listener(
        ListenerArn=listener["ListenerArn"],
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": live["TargetGroupArn"], "Weight": 100},
                        {"TargetGroupArn": idle["TargetGroupArn"], "Weight": 0},
                    ]
                },
            }
        ],
    )
    sandbox.front_door.served.clear()
    for _ in range(20):
        assert get(sandbox.front_door_url + "/health")[0] == 200
    assert sandbox.front_door.served == {live["TargetGroupArn"]: 20}
    # All weight on a group without healthy targets: nothing to send to.
    elbv2.modify_listener(
        ListenerArn=listener["ListenerArn"],
        DefaultActions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [
                        {"TargetGroupArn": live["TargetGroupArn"], "Weight": 0},
                        {"TargetGroupArn": idle["TargetGroupArn"], "Weight": 1},
                    ]
                },
            }
        ],
    )
    assert get(sandbox.front_door_url + "/health")[0] == 503


@pytest.mark.parametrize("path", ["/health", "/ml/status"])
def test_answers_come_from_the_task(sandbox: Sandbox, path: str) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    status, _ = get(sandbox.front_door_url + path)
    assert status == 200
