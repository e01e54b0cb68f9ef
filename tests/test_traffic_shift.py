"""Blue-green and canary deploys against the in-process sandbox (issue 6): what an operator sees."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from snailtrail.sandbox.front_door import TARGET_GROUP_HEADER
from tests.conftest import CliResult, Sandbox, forwarding_listener

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-1-good-2"
BROKEN = "fake.local/shine:phase-1-errors"


# A canary that bakes 10 % for a minute, without needing traffic: long enough to act during the bake.
LONG_CANARY_BAKE = {
    "kind": "canary",
    "steps": [{"weight": 10, "bake_s": 60}],
    "final_bake_s": 0,
    "gates": {"allow_no_traffic": True},
}


# The production listener's service rule as provisioned: all weight on the primary group, none on the alternate.
AS_PROVISIONED = {"shine-tg": 100, "shine-tg-alt": 0}


def service_rule() -> dict[str, Any]:
    """The production listener's rule at priority 10 (the environment's traffic.rule_priority)."""
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listener = next(
        x for x in elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"] if x["Port"] == 80
    )
    return next(r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if r["Priority"] == "10")


def weights(sandbox: Sandbox) -> dict[str, int]:
    """Target group name -> weight on the production listener's service rule."""
    action = service_rule()["Actions"][0]
    groups = (action.get("ForwardConfig") or {}).get("TargetGroups") or [
        {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}
    ]
    return {g["TargetGroupArn"].rsplit("/", 2)[-2]: g["Weight"] for g in groups}


def desired(service: str) -> int:
    ecs = boto3.client("ecs", region_name="us-east-1")
    return ecs.describe_services(cluster="shine", services=[service])["services"][0]["desiredCount"]


def use_strategy(sandbox: Sandbox, strategy: dict[str, Any]) -> None:
    sandbox.edit_phase("phase-1", lambda doc: doc.update(strategy=strategy))


class Load:
    """Requests to the public URL from a thread: what each answer was and which colour gave it."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.answers: list[tuple[int, str]] = []  # (status, target group), in the order they came
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                with urllib.request.urlopen(self.url + "/", timeout=5) as answer:
                    status, group = answer.status, answer.headers.get(TARGET_GROUP_HEADER, "")
            except urllib.error.HTTPError as error:
                status, group = error.code, error.headers.get(TARGET_GROUP_HEADER, "")
            except OSError:
                status, group = 0, ""
            self.answers.append((status, group))
            time.sleep(0.005)

    @contextmanager
    def running(self) -> Iterator[Load]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()


def deploy_in_background(sandbox: Sandbox, image: str, *extra: str) -> tuple[threading.Thread, list[int]]:
    from snailtrail.cli import run

    codes: list[int] = []
    args = ["--config", str(sandbox.config), "deploy", "phase-1", "--image", image, "--skip-smoke"]
    thread = threading.Thread(
        target=lambda: codes.append(run([*args, "--timeout", "20", "--poll-interval", "0.05", *extra])), daemon=True
    )
    thread.start()
    return thread, codes


def wait_for(condition: Any, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


def first_deploy(sandbox: Sandbox) -> None:
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 0, result.stderr


def test_blue_green_switches_all_traffic_at_once_and_retires_the_old_colour(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    assert weights(sandbox) == AS_PROVISIONED
    use_strategy(sandbox, {"kind": "blue-green", "final_bake_s": 1, "gates": {"allow_no_traffic": True}})

    result = sandbox.deploy("phase-1", GOOD_2, "--json")
    assert result.exit_code == 0, result.stderr
    body = result.json()
    assert [s["name"] for s in body["steps"]] == [
        "register",
        "start",
        "wait",
        "test",
        "shift-100",
        "verify",
        "mark",
        "retire",
    ]
    assert weights(sandbox) == {"shine-tg": 0, "shine-tg-alt": 100}
    assert desired("shine") == 0 and desired("shine-green") == 1
    status = sandbox.run("status", "--json").json()
    assert status["service"] == "shine-green" and status["colour"] == "green" and status["verified_at"]
    verify = sandbox.run("verify", "--json")
    assert verify.exit_code == 0, verify.stdout  # every check follows the live colour

    # The next blue-green deploy goes back to blue; a rolling one would update the live colour.
    again = sandbox.deploy("phase-1", GOOD_1, "--json")
    assert again.exit_code == 0, again.stderr
    assert weights(sandbox) == {"shine-tg": 100, "shine-tg-alt": 0}
    assert desired("shine") == 1 and desired("shine-green") == 0


def test_the_new_colour_is_tested_through_the_test_listener_before_any_traffic(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    use_strategy(sandbox, {"kind": "blue-green", "final_bake_s": 1})
    # The new revision answers /health with 500: the test step catches it, production never sees it.
    with Load(sandbox.front_door_url).running() as load:
        sandbox.break_phase("phase-1", SHINE_DRILL_HEALTH="failing")
        result = sandbox.deploy("phase-1", "fake.local/shine:phase-1-unhealthy", "--json", "--timeout", "3")
    assert result.exit_code == 1
    body = result.json()
    assert body["rolled_back"] and "aborted" in body["message"]
    assert {group for _, group in load.answers} == {"shine-tg"}
    assert weights(sandbox) == AS_PROVISIONED  # the listener exactly as the rollout found it
    assert desired("shine-green") == 0


def test_a_broken_canary_is_aborted_by_its_traffic_gate(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    use_strategy(
        sandbox,
        {"kind": "canary", "steps": [{"weight": 10, "bake_s": 30}], "final_bake_s": 1, "gates": {"min_requests": 5}},
    )
    with Load(sandbox.front_door_url).running() as load:
        wait_for(lambda: len(load.answers) >= 20)  # a baseline for the old colour
        sandbox.break_phase("phase-1", SHINE_DRILL_FAIL_REQUESTS="1")
        result = sandbox.deploy("phase-1", BROKEN, "--json")
    assert result.exit_code == 1, result.stderr
    body = result.json()
    assert "aborted (traffic error rate)" in body["message"]
    assert weights(sandbox) == AS_PROVISIONED  # the listener exactly as the rollout found it
    assert desired("shine-green") == 0
    # The gate aborted, the listener went back to the old colour, and only then did the deploy end.
    kinds = [e["kind"] for e in sandbox.run("trail", "--json").json()["events"]]
    assert kinds[-3:] == ["rollout.aborted", "traffic.restored", "deploy.finished"]
    # The broken colour took traffic and failed all of it; the old colour failed none.
    on_green = [status for status, group in load.answers if group == "shine-tg-alt"]
    assert on_green and set(on_green) == {500}
    assert all(status < 500 for status, group in load.answers if group == "shine-tg")
    # Once the listener was restored, every request goes to the old colour.
    sandbox.front_door.served.clear()
    for _ in range(20):
        with urllib.request.urlopen(sandbox.front_door_url + "/health", timeout=5) as answer:
            assert answer.headers.get(TARGET_GROUP_HEADER) == "shine-tg"
    assert list(sandbox.front_door.served.values()) == [20]


def test_abort_returns_traffic_at_once_and_the_baking_deploy_scales_the_new_colour_down(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    use_strategy(sandbox, LONG_CANARY_BAKE)
    thread, codes = deploy_in_background(sandbox, GOOD_2)
    wait_for(lambda: weights(sandbox).get("shine-tg-alt") == 10)

    aborted = sandbox.run("abort", "--reason", "pager went off", "--json")
    assert aborted.exit_code == 0, aborted.stderr
    assert aborted.json()["deploy_running"] is True
    assert weights(sandbox) == AS_PROVISIONED  # as the rollout found it, before the deploy even noticed
    thread.join(timeout=20)
    assert codes == [1]
    assert desired("shine-green") == 0
    events = sandbox.run("trail", "--json").json()["events"]
    aborted_event = next(e for e in events if e["kind"] == "rollout.aborted")
    assert aborted_event["data"]["gate"] == "operator" and "pager went off" in aborted_event["detail"]
    assert sandbox.run("abort").exit_code == 1  # nothing in flight any more


def test_promote_skips_the_remaining_bake(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    use_strategy(
        sandbox,
        {
            "kind": "canary",
            "steps": [{"weight": 10, "bake_s": 120}, {"weight": 50, "bake_s": 120}],
            "final_bake_s": 120,
        },
    )
    thread, codes = deploy_in_background(sandbox, GOOD_2)
    wait_for(lambda: weights(sandbox).get("shine-tg-alt") == 10)
    assert sandbox.run("promote", "--reason", "looks good").exit_code == 0
    # The bakes planned add up to 6 minutes; a promoted deploy is done long before this join gives up.
    thread.join(timeout=60)
    assert not thread.is_alive() and codes == [0]
    assert weights(sandbox) == {"shine-tg": 0, "shine-tg-alt": 100}
    kinds = [e["kind"] for e in sandbox.run("trail", "--json").json()["events"]]
    assert "rollout.promoted" in kinds


def test_a_first_deploy_has_nothing_to_compare_with_and_rolls(sandbox: Sandbox) -> None:
    use_strategy(sandbox, {"kind": "canary"})
    result = sandbox.deploy("phase-1", GOOD_1, "--json")
    assert result.exit_code == 0, result.stderr
    assert "this first deploy is rolling" in result.stderr
    assert [s["name"] for s in result.json()["steps"]] == ["register", "create", "wait", "verify", "mark"]


def test_strategy_without_a_second_colour_is_a_configuration_error(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    sandbox.edit_config(lambda doc: doc["service"].pop("blue_green"))
    result: CliResult = sandbox.deploy("phase-1", GOOD_2, "--strategy", "canary")
    assert result.exit_code == 2
    assert "service.blue_green" in result.stderr
    assert sandbox.deploy("phase-1", GOOD_2, "--strategy", "sideways").exit_code == 2


def test_canary_weights_must_increase(sandbox: Sandbox) -> None:
    use_strategy(sandbox, {"kind": "canary", "steps": [{"weight": 50, "bake_s": 1}, {"weight": 10, "bake_s": 1}]})
    result = sandbox.run("plan", "phase-1")
    assert result.exit_code == 2
    assert "strategy.steps" in result.stderr and "increase" in result.stderr


def test_an_environment_strategy_without_a_second_colour_is_refused_up_front(sandbox: Sandbox) -> None:
    def change(doc: dict[str, Any]) -> None:
        doc["service"].pop("blue_green")
        doc["environments"]["unit"]["strategy"] = {"kind": "blue-green"}

    sandbox.edit_config(change)
    result = sandbox.run("status")
    assert result.exit_code == 2
    assert "environments.unit.strategy" in result.stderr and "service.blue_green" in result.stderr


def in_flight(sandbox: Sandbox) -> Any:
    from snailtrail.aws.session import AwsClients
    from snailtrail.config import load_settings
    from snailtrail.inflight import InFlight

    settings = load_settings(str(sandbox.config))
    return InFlight(AwsClients(settings.environment), "snailtrail-state", "unit", "shine")


RECORD = {
    "run_id": "crashed-run",
    "phase": "phase-1",
    "old_service": "shine",
    "new_service": "shine-green",
    "old_target_group": "tg-old",
    "new_target_group": "tg-new",
    "listener": "listener",
    "restore_actions": "[]",
}


def test_a_bake_without_traffic_does_not_pass_as_evidence(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    use_strategy(sandbox, {"kind": "canary", "steps": [{"weight": 10, "bake_s": 1}], "final_bake_s": 1})
    result = sandbox.deploy("phase-1", GOOD_2, "--json")
    assert result.exit_code == 1
    assert "aborted (traffic)" in result.json()["message"] and "before the gates could judge" in result.stdout
    assert weights(sandbox) == AS_PROVISIONED  # the listener exactly as the rollout found it


def test_abort_is_refused_once_the_rollout_is_committing(sandbox: Sandbox) -> None:
    record = in_flight(sandbox)
    record.begin(RECORD)
    assert record.commit("crashed-run")
    refused = sandbox.run("abort")
    assert refused.exit_code == 1 and "committing" in refused.stderr and "rollback" in refused.stderr


def test_a_rollout_left_in_flight_blocks_the_next_one_until_it_is_aborted(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    groups = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    rule = service_rule()
    in_flight(sandbox).begin(
        RECORD
        | {
            "old_target_group": groups["shine-tg"],
            "new_target_group": groups["shine-tg-alt"],
            "listener": rule["RuleArn"],
            "restore_actions": json.dumps(rule["Actions"]),
        }
    )
    use_strategy(sandbox, {"kind": "blue-green", "final_bake_s": 0, "gates": {"allow_no_traffic": True}})
    blocked = sandbox.deploy("phase-1", GOOD_2)
    assert blocked.exit_code == 1 and "earlier rollout is still recorded" in blocked.stderr
    aborted = sandbox.run("abort", "--json")
    assert aborted.exit_code == 0 and aborted.json()["deploy_running"] is False
    assert sandbox.deploy("phase-1", GOOD_2).exit_code == 0


def test_an_interrupt_during_a_canary_bake_returns_all_traffic_and_exits_130(sandbox: Sandbox, monkeypatch) -> None:
    from snailtrail.traffic_shift import TrafficShift

    first_deploy(sandbox)
    use_strategy(sandbox, LONG_CANARY_BAKE)
    seen: list[dict[str, int]] = []

    def interrupted_bake(self: TrafficShift, bake_s: float, step_started: Any) -> Any:
        seen.append(weights(sandbox))  # Ctrl-C while 10 % bakes on the new colour
        raise KeyboardInterrupt

    monkeypatch.setattr(TrafficShift, "_bake", interrupted_bake)
    result = sandbox.deploy("phase-1", GOOD_2, "--json")
    assert seen == [{"shine-tg": 90, "shine-tg-alt": 10}]
    assert result.exit_code == 130
    assert weights(sandbox) == AS_PROVISIONED  # the listener exactly as the rollout found it
    assert desired("shine") == 1 and desired("shine-green") == 0
    status = sandbox.run("status", "--json").json()
    assert status["service"] == "shine" and status["task_definition"].endswith(":1")
    events = sandbox.run("trail", "--json").json()["events"]
    assert next(e for e in events if e["kind"] == "rollout.aborted")["data"]["gate"] == "interrupt"


def test_a_deploy_onto_a_redirecting_listener_is_refused_before_anything_changes(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    redirect = [{"Type": "redirect", "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}}]
    elbv2.modify_rule(RuleArn=service_rule()["RuleArn"], Actions=redirect)
    use_strategy(sandbox, {"kind": "blue-green", "final_bake_s": 0, "gates": {"allow_no_traffic": True}})

    refused = sandbox.deploy("phase-1", GOOD_2)

    assert refused.exit_code == 2
    assert "rule 10 of listener 80 of shine-alb answers with redirect, not a forward" in refused.stderr
    assert service_rule()["Actions"][0]["Type"] == "redirect"
    assert "shine-green" not in {
        s["serviceName"]
        for s in boto3.client("ecs", region_name="us-east-1").describe_services(
            cluster="shine", services=["shine-green"]
        )["services"]
    }


def test_the_old_colour_keeps_its_tasks_while_another_listener_still_forwards_to_it(sandbox: Sandbox) -> None:
    first_deploy(sandbox)
    forwarding_listener(8081, "shine-tg")
    use_strategy(sandbox, {"kind": "blue-green", "final_bake_s": 0, "gates": {"allow_no_traffic": True}})

    result = sandbox.deploy("phase-1", GOOD_2, "--json")

    assert result.exit_code == 0, result.stderr  # the new colour is verified; only the scale-down waits
    assert weights(sandbox) == {"shine-tg": 0, "shine-tg-alt": 100}
    assert desired("shine") == 1 and desired("shine-green") == 1
    assert "listener 8081 of shine-alb still forward to shine-tg" in result.stdout + result.stderr


def test_a_rollout_recorded_without_its_listener_actions_can_still_be_aborted(sandbox: Sandbox) -> None:
    """A record written by a snailtrail that kept no action list (an upgrade mid-rollout)."""
    first_deploy(sandbox)
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    groups = {g["TargetGroupName"]: g["TargetGroupArn"] for g in elbv2.describe_target_groups()["TargetGroups"]}
    sandbox.forward({"shine-tg": 50, "shine-tg-alt": 50})
    record = RECORD | {
        "old_target_group": groups["shine-tg"],
        "new_target_group": groups["shine-tg-alt"],
        "listener": service_rule()["RuleArn"],
    }
    del record["restore_actions"]
    item = {"pk": {"S": "rollout#unit#shine"}, "sk": {"S": "rollout"}} | {k: {"S": v} for k, v in record.items()}
    boto3.client("dynamodb", region_name="us-east-1").put_item(TableName="snailtrail-state", Item=item)

    aborted = sandbox.run("abort", "--json")

    assert aborted.exit_code == 0, aborted.stderr
    assert weights(sandbox) == {"shine-tg": 100, "shine-tg-alt": 0}
