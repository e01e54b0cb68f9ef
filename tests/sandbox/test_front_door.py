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
