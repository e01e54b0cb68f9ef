"""deploy against the in-process sandbox: the behaviours issue 2 promises, each observable by a user."""

from __future__ import annotations

import json
import urllib.request

from tests.conftest import CRASHING, Sandbox, count_polls

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-2-good"


def served_phase(sandbox: Sandbox) -> str:
    with urllib.request.urlopen(sandbox.front_door_url + "/health", timeout=5) as answer:
        return json.loads(answer.read())["phase"]


def test_phase_1_then_phase_2_deploy_and_verify(sandbox: Sandbox) -> None:
    first = sandbox.deploy("phase-1", GOOD_1, "--json")
    assert first.exit_code == 0, first.stderr
    body = first.json()
    assert body["ok"] and body["phase"] == "phase-1" and not body["rolled_back"]
    assert [s["name"] for s in body["steps"]] == ["register", "create", "wait", "verify", "mark"]
    assert served_phase(sandbox) == "simple"

    second = sandbox.deploy("hybrid", GOOD_2, "--json")
    assert second.exit_code == 0, second.stderr
    body = second.json()
    assert body["task_definition"].endswith(":2")
    assert body["previous_task_definition"].endswith(":1")
    assert {c["name"]: c["status"] for c in body["checks"]}["healthy targets"] == "pass"
    assert served_phase(sandbox) == "hybrid"

    status = sandbox.run("status", "--json").json()
    assert status["phase"] == "phase-2" and status["running"] == 2 and status["desired"] == 2
    assert [p["state"] for p in status["phases"]] == ["verified", "verified", "not started"]


def test_missing_service_is_created_and_said_so(sandbox: Sandbox) -> None:
    result = sandbox.deploy("phase-1", GOOD_1)
    assert result.exit_code == 0, result.stderr
    assert "did not exist: created it" in result.stderr


def test_missing_service_without_consent_exits_2_and_changes_nothing(sandbox: Sandbox) -> None:
    result = sandbox.run("deploy", "phase-1", "--image", GOOD_1, "--skip-smoke", "--timeout", "5")
    assert result.exit_code == 2
    assert "does not exist" in result.stderr and "--yes" in result.stderr
    # Only the deploy lock was taken and released: no task definition, no service, no trail event.
    assert sandbox.mutating_calls() == ["dynamodb.DeleteItem", "dynamodb.PutItem"]
    assert sandbox.api_calls["dynamodb.PutItem"] == 1


def test_crashing_tasks_roll_back_to_verified_phase_1(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", CRASHING)
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash", "--json")
    assert result.exit_code == 1, result.stderr
    body = result.json()
    assert body["rolled_back"] is True
    assert body["rolled_back_to"].endswith(":1")
    assert "exit code 1" in body["message"]
    assert "Essential container in task exited" in body["message"]
    assert served_phase(sandbox) == "simple"
    status = sandbox.run("status", "--json").json()
    assert status["task_definition"].endswith(":1") and status["phase"] == "phase-1"


def test_failing_success_criterion_rolls_back(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    # The fake app reports ML mode "basic"; phase 3 accepts only "enhanced".
    result = sandbox.deploy("phase-3", "fake.local/shine:phase-3-good", "--json")
    assert result.exit_code == 1
    body = result.json()
    failed = [c for c in body["checks"] if c["status"] == "fail"]
    assert failed and failed[0]["name"] == "ml mode" and "'basic'" in failed[0]["summary"]
    assert body["rolled_back_to"].endswith(":1")
    assert served_phase(sandbox) == "simple"


def test_rollback_target_skips_unverified_newer_revision(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    # Revision 2 goes live but never verifies (--no-rollback leaves it running).
    unverified = sandbox.deploy("phase-3", "fake.local/shine:phase-3-good", "--no-rollback", "--json")
    assert unverified.exit_code == 1 and unverified.json()["task_definition"].endswith(":2")
    # Revision 3 crashes: the rollback must skip revision 2, the previous one, for verified revision 1.
    sandbox.break_phase("phase-2", CRASHING)
    crash = sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash", "--json")
    assert crash.exit_code == 1
    assert crash.json()["previous_task_definition"].endswith(":2")
    assert crash.json()["rolled_back_to"].endswith(":1")


def test_operator_rollback_returns_to_last_verified(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    result = sandbox.run("rollback", "--timeout", "20", "--poll-interval", "0.05", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["rolled_back_to"].endswith(":1")
    assert served_phase(sandbox) == "simple"


def test_no_verified_deployment_means_exit_3(sandbox: Sandbox) -> None:
    sandbox.break_phase("phase-1", CRASHING)
    result = sandbox.deploy("phase-1", "fake.local/shine:phase-1-crash", "--json")
    assert result.exit_code == 3
    assert "no verified deployment" in result.json()["message"]


def test_identical_task_definition_is_not_registered_twice(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    again = sandbox.deploy("phase-1", GOOD_1, "--json")
    assert again.exit_code == 0
    assert again.json()["task_definition"].endswith(":1")
    assert sandbox.api_calls["ecs.RegisterTaskDefinition"] == 1
    assert "reusing" in again.json()["steps"][0]["detail"]


def test_a_copy_carrying_snailtrail_tags_is_not_taken_for_an_identical_revision(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    # ecs-deploy's deploy --image: revision 2 runs another image under revision 1's tags, fingerprint included.
    copy = sandbox.copy_revision("fake.local/shine:phase-1-other", keep_tags=True)
    assert copy.endswith(":2")
    again = sandbox.deploy("phase-1", GOOD_1, "--json")
    assert again.exit_code == 0
    assert again.json()["task_definition"].endswith(":1")
    assert sandbox.api_calls["ecs.RegisterTaskDefinition"] == 1  # snailtrail's own, the first deploy's


def test_dry_run_makes_no_mutating_call(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.api_calls.clear()
    result = sandbox.run("deploy", "phase-2", "--image", GOOD_2, "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    plan = result.json()
    assert plan["dry_run"] is True
    added = [line for line in plan["task_definition_diff"].splitlines() if line.startswith("+")]
    assert any('"image": "fake.local/shine:phase-2-good"' in line for line in added)
    assert plan["rollback_target"].endswith(":1")
    assert sandbox.api_calls, "the plan must read the live state"
    assert sandbox.mutating_calls() == []


def test_wrong_port_image_is_caught_by_target_health_and_rolled_back(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.break_phase("phase-2", SHINE_DRILL_WRONG_PORT="8080")
    result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-wrong-port", "--json")
    assert result.exit_code == 1
    assert "failed ELB health checks" in result.json()["message"]
    assert served_phase(sandbox) == "simple"


def test_after_an_operator_rollback_a_failed_deploy_returns_to_what_ran(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    back = sandbox.run("rollback", "--to", "phase-1", "--timeout", "20", "--poll-interval", "0.05", "--json")
    assert back.exit_code == 0 and back.json()["rolled_back_to"].endswith(":1")
    # Revision 1 was proven good again after revision 2: a failing deploy now returns to it, not to 2.
    sandbox.break_phase("phase-3", CRASHING)
    crash = sandbox.deploy("phase-3", "fake.local/shine:phase-3-crash", "--json")
    assert crash.exit_code == 1
    assert crash.json()["rolled_back_to"].endswith(":1")
    assert served_phase(sandbox) == "simple"


def test_rollback_to_an_unknown_revision_exits_2(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    result = sandbox.run("rollback", "--to", "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:99")
    assert result.exit_code == 2 and "shine:99" in result.stderr
    other = sandbox.run("rollback", "--to", "arn:aws:ecs:us-east-1:123456789012:task-definition/other:1")
    assert other.exit_code == 2 and "not a revision of shine" in other.stderr


def test_interrupt_during_the_wait_rolls_back_and_exits_130(sandbox: Sandbox, monkeypatch) -> None:
    from snailtrail.run import service_ops

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    real_watch = service_ops.watch_deployment
    calls = []

    def interrupted_once(*args, **kwargs):
        calls.append(args[2])
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real_watch(*args, **kwargs)

    monkeypatch.setattr(service_ops, "watch_deployment", interrupted_once)
    result = sandbox.deploy("phase-2", GOOD_2, "--json")
    assert result.exit_code == 130
    body = result.json()
    assert body["rolled_back_to"].endswith(":1") and "interrupted with the service on unverified" in body["message"]
    assert served_phase(sandbox) == "simple"
    kinds = [e["kind"] for e in sandbox.run("trail", "--format", "json").json()["events"]]
    assert "deploy.interrupted" in kinds and "rollback.finished" in kinds
    interrupted = next(
        e for e in sandbox.run("trail", "--format", "json").json()["events"] if e["kind"] == "deploy.interrupted"
    )
    assert "(in the wait step)" in interrupted["detail"] and "failed" not in interrupted["detail"]
    assert "deploy.failed" not in kinds[kinds.index("deploy.interrupted") :]
    rendered = sandbox.run("trail").stdout
    assert "interrupted, rolled back" in rendered and "— interrupted" in rendered


def test_interrupt_before_the_service_changes_leaves_it_alone(sandbox: Sandbox, monkeypatch) -> None:
    from snailtrail.aws.ecs import EcsApi

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(EcsApi, "register_task_definition", interrupted)
    result = sandbox.deploy("phase-2", GOOD_2, "--json")
    assert result.exit_code == 130 and not result.json()["rolled_back"]
    assert "nothing to undo" in result.json()["message"]
    assert sandbox.run("status", "--json").json()["task_definition"].endswith(":1")


def test_a_healthy_deploy_makes_each_call_for_a_purpose(sandbox: Sandbox, monkeypatch) -> None:
    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    sandbox.api_calls.clear()
    polls = count_polls(monkeypatch)
    assert sandbox.deploy("phase-2", GOOD_2).exit_code == 0
    calls = dict(sandbox.api_calls)
    events = [e for e in sandbox.run("trail", "--format", "json").json()["events"] if e["phase"] == "phase-2"]
    assert calls == {
        # The work ecs-deploy does too: read the service and its revision, find revisions (every
        # tag snailtrail wrote, in one call), register, update, then one DescribeServices a poll and
        # one look at the tasks once the deployment is complete.
        "ecs.DescribeServices": 1 + len(polls),
        "ecs.DescribeTaskDefinition": 1,
        "resourcegroupstaggingapi.GetResources": 1,
        "ecs.RegisterTaskDefinition": 1,
        "ecs.UpdateService": 1,
        "ecs.ListTasks": 1,
        "ecs.DescribeTasks": 1,
        # What it does besides: target health, the verified tag, one write per trail event and the lock.
        "elbv2.DescribeTargetGroups": 1,
        "elbv2.DescribeTargetHealth": 1,
        "ecs.TagResource": 1,
        "dynamodb.PutItem": len(events) + 1,
        "dynamodb.DeleteItem": 1,
        # The lock's token, read again before the service is changed.
        "dynamodb.GetItem": 1,
        # The trail, read twice: once the lock is taken, for a run killed before it finished (closed as
        # interrupted); then for the rollback target, what was live before this deploy.
        "dynamodb.Query": 2,
        # Whether autoscaling manages the service: its bounds limit the desired count.
        "application-autoscaling.DescribeScalableTargets": 1,
        # The credentials' account, before any change (account_guard.py).
        "sts.GetCallerIdentity": 1,
    }


def test_verified_revisions_come_from_one_tagging_call(sandbox: Sandbox) -> None:
    for image in (GOOD_1, "fake.local/shine:phase-1-b", "fake.local/shine:phase-1-c"):
        assert sandbox.deploy("phase-1", image).exit_code == 0
    sandbox.api_calls.clear()
    sandbox.break_phase("phase-2", CRASHING)
    crash = sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash", "--json")
    assert crash.exit_code == 1 and crash.json()["rolled_back_to"].endswith(":3")
    # The plan's identical revision and rollback target, the register step's identical revision and
    # the rollback's target: all from one call. Not one describe per revision in the family either:
    # the live one (also the target), and the failed one for where its stopped tasks logged.
    assert sandbox.api_calls["resourcegroupstaggingapi.GetResources"] == 1
    assert sandbox.api_calls["ecs.DescribeTaskDefinition"] == 2


def test_without_the_tagging_api_the_revisions_are_described_instead(sandbox: Sandbox, monkeypatch) -> None:
    from botocore.awsrequest import AWSResponse

    from snailtrail.aws import session

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    original = session.AwsClients.__post_init__

    def refuse(model, **_: object) -> tuple[AWSResponse, dict[str, object]] | None:
        if model.name != "GetResources":
            return None
        # What AWS answers an account whose policy lacks tag:GetResources.
        error = {"Code": "AccessDeniedException", "Message": "not authorized to perform: tag:GetResources"}
        return AWSResponse("https://tagging.invalid", 400, {}, None), {"Error": error}

    def hooked(self) -> None:
        original(self)
        self._session.events.register_last("before-call", refuse)  # after the call counters

    monkeypatch.setattr(session.AwsClients, "__post_init__", hooked)
    sandbox.api_calls.clear()
    sandbox.break_phase("phase-2", CRASHING)
    crash = sandbox.deploy("phase-2", "fake.local/shine:phase-2-crash", "--json")
    assert crash.exit_code == 1 and crash.json()["rolled_back_to"].endswith(":1")
    # Refused once, then not asked again in the run.
    assert sandbox.api_calls["resourcegroupstaggingapi.GetResources"] == 1
    assert sandbox.api_calls["ecs.ListTaskDefinitions"] == 1


def test_a_gate_alarm_in_alarm_fails_a_rolling_deploy_which_rolls_back(sandbox: Sandbox) -> None:
    import boto3

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
    cloudwatch.put_metric_alarm(
        AlarmName="shine-5xx",
        Namespace="AWS/ApplicationELB",
        MetricName="HTTPCode_Target_5XX_Count",
        Statistic="Sum",
        Period=60,
        EvaluationPeriods=1,
        Threshold=1,
        ComparisonOperator="GreaterThanOrEqualToThreshold",
    )
    cloudwatch.set_alarm_state(AlarmName="shine-5xx", StateValue="ALARM", StateReason="5xx spike")
    sandbox.edit_config(
        lambda d: d["environments"]["unit"].update(strategy={"kind": "rolling", "gates": {"alarms": ["shine-5xx"]}})
    )
    result = sandbox.deploy("phase-2", GOOD_2, "--json")

    assert result.exit_code == 1, result.stderr
    body = result.json()
    assert "CloudWatch alarm(s) in ALARM: shine-5xx" in body["message"] and body["rolled_back_to"].endswith(":1")
    assert served_phase(sandbox) == "simple"


def test_a_service_codedeploy_deploys_is_refused_by_plan_and_deploy_before_any_change(sandbox: Sandbox) -> None:
    import boto3

    assert sandbox.deploy("phase-1", GOOD_1).exit_code == 0
    ecs = boto3.client("ecs", region_name="us-east-1")
    live = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
    ecs.delete_service(cluster="shine", service="shine", force=True)
    ecs.create_service(
        cluster="shine",
        serviceName="shine",
        taskDefinition=live["taskDefinition"],
        desiredCount=1,
        launchType="FARGATE",
        deploymentController={"type": "CODE_DEPLOY"},
        loadBalancers=live["loadBalancers"],
        networkConfiguration=live["networkConfiguration"],
    )
    sandbox.api_calls.clear()
    planned = sandbox.run("plan", "phase-2")
    deployed = sandbox.deploy("phase-2", GOOD_2)

    for refused in (planned, deployed):
        assert refused.exit_code == 2, refused.stderr
        assert (
            "uses the CODE_DEPLOY deployment controller" in refused.stderr and "nothing was changed" in refused.stderr
        )
    assert sandbox.mutating_calls() == [c for c in sandbox.mutating_calls() if c.startswith("dynamodb.")]


def test_plan_diffs_every_container_of_the_task(sandbox: Sandbox) -> None:
    from tests.sandbox.test_reconciler import with_sidecars

    assert sandbox.deploy("phase-1", "fake.local/shine:one").exit_code == 0
    sandbox.edit_phase("phase-1", with_sidecars("sleep 600"))
    diff = sandbox.run("plan", "phase-1", "--image", "fake.local/shine:one", "--json").json()["task_definition_diff"]
    added = [line[1:].strip(" ,") for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert '"name": "models"' in added and '"name": "metrics"' in added
    assert '"condition": "SUCCESS"' in added and '"containerName": "models"' in added  # the app's new dependsOn
    assert '"healthCheck": {' in added  # the sidecar's container health check
