"""The service layer (snailtrail/run/service_ops.py): what a deploy and a rollback ask ECS to make of the service,
on the unit environment as `sandbox up` provisions it (in-process moto, no reconciler: nothing here runs a
task). The rollout watch runs end to end in tests/commands/test_deploy.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest

from snailtrail.config.phases import Phase, load_phases
from snailtrail.context import Context
from snailtrail.plan.deploy_plan import DeployOptions
from snailtrail.plan.steps import StepFailed
from snailtrail.run.service_ops import ServiceOps
from snailtrail.state.run_trail import RunTrail
from tests.run.test_traffic import Recorded


class Unit:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.ops = ServiceOps(ctx, RunTrail(Recorded(), "run-1"), DeployOptions())  # type: ignore[arg-type]
        self.phase: Phase = load_phases(ctx.settings.phases_path)[0]
        self.ecs = boto3.client("ecs", region_name="us-east-1")
        self.warned: list[str] = []
        ctx.reporter.warn = self.warned.append  # type: ignore[method-assign]

    def revision(self) -> str:
        return self.ecs.register_task_definition(
            family="shine",
            networkMode="awsvpc",
            requiresCompatibilities=["FARGATE"],
            cpu="256",
            memory="512",
            containerDefinitions=[{"name": "app", "image": "x", "portMappings": [{"containerPort": 8000}]}],
        )["taskDefinition"]["taskDefinitionArn"]

    def service(self) -> dict[str, Any]:
        return self.ecs.describe_services(cluster="shine", services=["shine"], include=["TAGS"])["services"][0]

    def created(self, alarms: list[str] | None = None) -> str:
        arn = self.revision()
        self.ops.create(arn, self.phase, alarms=alarms)
        self.ctx.refresh_live_service()
        return arn


@pytest.fixture
def unit(aws_env: None, provisioned_moto: Any, tmp_path: Path) -> Iterator[Unit]:
    from moto import mock_aws

    from snailtrail.config.settings import load_settings
    from snailtrail.ui import Reporter
    from tests import moto_state
    from tests.conftest import write_config

    with mock_aws():
        moto_state.restore(provisioned_moto)  # the environment's stack, test listener included
        settings = load_settings(str(write_config(tmp_path, "http://placeholder")))
        yield Unit(Context(settings, Reporter(quiet=True)))


def rolling(alarms: list[str]) -> dict[str, Any]:
    """What snailtrail asks of a ROLLING service: ECS's circuit breaker and alarms fail a deployment, never roll it
    back (snailtrail rolls back to the last verified revision instead)."""
    return {
        "strategy": "ROLLING",
        "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        "alarms": {"alarmNames": alarms, "enable": bool(alarms), "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }


def native(unit: Unit) -> dict[str, Any]:
    """A canary service deployment's request, as a deploy makes it (snailtrail/run/native_setup.py)."""
    from snailtrail.config.strategy_config import StrategyConfig
    from snailtrail.run.native_setup import deployment_configuration, resolve_native_setup

    setup = resolve_native_setup(unit.ctx)
    return {
        "deploymentConfiguration": deployment_configuration(StrategyConfig(kind="canary")),
        "loadBalancers": setup.load_balancers("app", 8000),
    }


def test_a_missing_service_is_created_from_the_configuration_and_the_phase_and_says_so(unit: Unit) -> None:
    arn = unit.revision()
    ec2 = boto3.client("ec2", region_name="us-east-1")
    elbv2 = boto3.client("elbv2", region_name="us-east-1")

    said = unit.ops.create(arn, unit.phase)

    service = unit.service()
    assert said == f"created service shine with 1 task(s) of {arn}"
    assert unit.warned == [f"service shine did not exist: created it from {unit.phase.path.name}"]
    assert (service["taskDefinition"], service["desiredCount"], service["launchType"]) == (arn, 1, "FARGATE")
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "tag:Name", "Values": ["shine-public-a", "shine-public-b"]}])
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["shine-tasks"]}])
    assert sorted(awsvpc["subnets"]) == sorted(s["SubnetId"] for s in subnets["Subnets"])
    assert awsvpc["securityGroups"] == [groups["SecurityGroups"][0]["GroupId"]]
    assert awsvpc["assignPublicIp"] == "ENABLED"
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    assert service["loadBalancers"] == [
        {"targetGroupArn": group["TargetGroupArn"], "containerName": "app", "containerPort": 8000}
    ]
    assert service["healthCheckGracePeriodSeconds"] == unit.phase.container.health_check.grace_period_s
    assert service["deploymentConfiguration"] == rolling([])
    assert service["tags"] == [{"key": "snailtrail:managed", "value": "true"}]


def test_a_service_created_with_a_count_and_alarms_has_them(unit: Unit) -> None:
    arn = unit.revision()

    said = unit.ops.create(arn, unit.phase, desired=3, alarms=["shine-5xx"])

    assert said == f"created service shine with 3 task(s) of {arn}"
    assert unit.service()["desiredCount"] == 3
    assert unit.service()["deploymentConfiguration"] == rolling(["shine-5xx"])


def test_a_service_is_not_created_without_its_target_group(unit: Unit, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(unit.ctx.elbv2, "target_group", lambda name: None)  # as if shine-tg were deleted

    with pytest.raises(StepFailed) as refused:
        unit.ops.create(unit.revision(), unit.phase)

    assert str(refused.value) == "target group shine-tg does not exist"
    assert refused.value.fix == "create it (ip targets, the container port), or fix service.load_balancer.target_group"
    assert unit.ecs.describe_services(cluster="shine", services=["shine"])["services"] == []


def test_an_update_points_the_service_at_the_revision_and_count_and_keeps_its_alarms(unit: Unit) -> None:
    unit.created(alarms=["shine-5xx"])
    newer = unit.revision()

    said = unit.ops.update(newer, 4, unit.phase)

    service = unit.service()
    assert said == f"service shine now wants 4 task(s) of {newer}"
    assert (service["taskDefinition"], service["desiredCount"]) == (newer, 4)
    assert service["deploymentConfiguration"] == rolling(["shine-5xx"])


@pytest.mark.parametrize("alarms", [[], ["shine-latency"]])
def test_an_update_with_other_alarms_sets_them_on_the_service(unit: Unit, alarms: list[str]) -> None:
    unit.created(alarms=["shine-5xx"])
    newer = unit.revision()

    unit.ops.update(newer, 1, unit.phase, alarms=alarms)

    assert unit.service()["deploymentConfiguration"] == rolling(alarms)
    assert unit.service()["taskDefinition"] == newer


def test_an_update_after_a_native_deployment_makes_the_service_rolling_again(unit: Unit) -> None:
    """A rollback does not judge PAUSE hooks: a canary service left as it was would wait on them."""
    unit.created(alarms=["shine-5xx"])
    unit.ops.update_native(unit.revision(), 1, unit.phase, native(unit))
    unit.ctx.refresh_live_service()

    unit.ops.update(unit.revision(), 1, None)

    # The canary deployment asked for no alarms: the service's own, none, are kept.
    assert unit.service()["deploymentConfiguration"] == rolling([])


def test_a_service_with_its_alarms_disabled_keeps_them_disabled(unit: Unit) -> None:
    unit.created()
    unit.ecs.update_service(
        cluster="shine",
        service="shine",
        deploymentConfiguration=rolling([]) | {"alarms": {"alarmNames": ["old"], "enable": False, "rollback": False}},
    )
    unit.ctx.refresh_live_service()

    unit.ops.update(unit.revision(), 1, unit.phase)

    assert unit.service()["deploymentConfiguration"]["alarms"]["enable"] is False


def test_a_native_update_asks_ecs_for_a_deployment_even_of_the_revision_that_runs(
    unit: Unit, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ECS starts no deployment for an UpdateService that changes nothing it deploys."""
    running = unit.created()
    asked: list[dict[str, Any]] = []
    update = unit.ctx.ecs.update_service
    monkeypatch.setattr(
        unit.ctx.ecs, "update_service", lambda *args, **native: asked.append(native) or update(*args, **native)
    )
    said = unit.ops.update_native(running, 2, unit.phase, native(unit))
    unit.ctx.refresh_live_service()
    newer = unit.revision()
    unit.ops.update_native(newer, 2, unit.phase, native(unit))

    assert said == f"service shine now deploys 2 task(s) of {running} as a CANARY service deployment"
    assert [request.get("forceNewDeployment") for request in asked] == [True, None]
    assert unit.service()["deploymentConfiguration"]["strategy"] == "CANARY"
    assert unit.service()["desiredCount"] == 2 and unit.service()["taskDefinition"] == newer


def test_no_change_is_made_once_the_deploy_lock_is_lost(unit: Unit) -> None:
    from snailtrail.aws.session import AwsClients
    from snailtrail.state.lock import DeployLock

    running = unit.created()

    def lock() -> DeployLock:
        return DeployLock(AwsClients(unit.ctx.settings.environment), "snailtrail-state", "unit", "shine")

    unit.ctx.held_lock = lock()
    unit.ctx.held_lock.acquire("deploy phase-1")
    newer = unit.revision()
    assert unit.ops.update(newer, 1, unit.phase)  # held: changes go through
    lock().force_remove()

    for change in (
        lambda: unit.ops.update(running, 1, unit.phase),
        lambda: unit.ops.update_native(running, 1, unit.phase, native(unit)),
        lambda: unit.ops.create(running, unit.phase),
    ):
        with pytest.raises(StepFailed) as refused:
            change()
        assert str(refused.value) == "the deploy lock was lost (expired, taken over or removed with unlock --force)"
        assert refused.value.fix == "check `snailtrail status` for another deploy before changing anything"
    assert unit.service()["taskDefinition"] == newer


def watched(monkeypatch: pytest.MonkeyPatch, outcome: Any, logged: str = "") -> list[tuple[Any, ...]]:
    """The rollout watch (snailtrail/run/deployment_watch.py, tested on its own) ends with ``outcome``; the stopped
    tasks' logs read ``logged``. Returns what the watch and the logs were asked."""
    from snailtrail.run import service_ops

    asked: list[tuple[Any, ...]] = []

    def watch(ecs: Any, service: str, arn: str, timeout_s: float, poll_s: float, say: Any, seen: set[str]) -> Any:
        assert ecs is not None and say is not None  # the run's ECS, and the reporter's detail lines
        asked.append(("watch", service, arn, timeout_s, poll_s, seen))
        return outcome

    def report(ctx: Any, emit: Any, tasks: list[dict[str, Any]], phase: str | None, arn: str) -> str:
        assert ctx is not None and emit is not None  # the lines go to this run's trail
        asked.append(("logs", tasks, phase, arn))
        return logged

    monkeypatch.setattr(service_ops, "watch_deployment", watch)
    monkeypatch.setattr(service_ops, "report_stopped_tasks", report)
    return asked


def test_a_stable_rollout_says_so_and_keeps_the_new_tasks(unit: Unit, monkeypatch: pytest.MonkeyPatch) -> None:
    from snailtrail.run.deployment_watch import DeploymentOutcome

    tasks = [{"taskArn": "t1"}]
    unit.ops.note_events({"events": [{"id": "e1"}, {"id": "e2"}]})  # ECS's events before this run's change
    asked = watched(monkeypatch, DeploymentOutcome(True, "1/1 tasks of :2 running", new_tasks=tasks))

    assert unit.ops.wait("arn:td:2", "phase-1") == "1/1 tasks of :2 running"
    assert unit.ops.new_tasks == tasks
    options = DeployOptions()
    assert asked == [("watch", "shine", "arn:td:2", options.timeout_s, options.poll_interval_s, {"e1", "e2"})]


def test_a_failed_rollout_says_why_its_tasks_stopped_and_what_they_logged(
    unit: Unit, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.run.deployment_watch import DeploymentOutcome

    tasks = [{"taskArn": "t1"}]
    failed = DeploymentOutcome(False, "circuit breaker", new_tasks=tasks, stopped=["exit 1", "exit 2"])
    asked = watched(monkeypatch, failed, logged="t1 said: no module named shine")

    with pytest.raises(StepFailed) as raised:
        unit.ops.wait("arn:td:2", "phase-1")

    assert str(raised.value) == "rollout failed: circuit breaker: exit 1; exit 2; t1 said: no module named shine"
    assert raised.value.fix == (
        "read the stopped reasons and exit codes above; `snailtrail smoke PHASE` reproduces most start-up failures "
        "locally"
    )
    assert asked[-1] == ("logs", tasks, "phase-1", "arn:td:2")
    assert unit.ops.new_tasks == []


@pytest.mark.parametrize(
    ("stopped", "tasks", "logged", "said"),
    [
        ([], [], "", "rollout failed: timed out"),
        (["exit 1"], [], "", "rollout failed: timed out: exit 1"),
        ([], [{"taskArn": "t1"}], "", "rollout failed: timed out"),
        ([], [{"taskArn": "t1"}], "t1 said: oom", "rollout failed: timed out: t1 said: oom"),
    ],
)
def test_a_failed_rollout_says_only_what_it_knows(
    unit: Unit, monkeypatch: pytest.MonkeyPatch, stopped: list[str], tasks: list[dict], logged: str, said: str
) -> None:
    from snailtrail.run.deployment_watch import DeploymentOutcome

    asked = watched(monkeypatch, DeploymentOutcome(False, "timed out", new_tasks=tasks, stopped=stopped), logged)

    with pytest.raises(StepFailed, match="rollout failed") as raised:
        unit.ops.wait("arn:td:2", None)

    assert str(raised.value) == said
    assert [a[0] for a in asked] == ["watch"] + (["logs"] if tasks else [])


def test_a_native_service_whose_alarms_are_named_but_disabled_is_made_rolling_without_them(unit: Unit) -> None:
    unit.created()
    request = native(unit)
    request["deploymentConfiguration"]["alarms"] = {"alarmNames": ["old"], "enable": False, "rollback": False}
    unit.ops.update_native(unit.revision(), 1, unit.phase, request)
    unit.ctx.refresh_live_service()

    unit.ops.update(unit.revision(), 1, None)

    assert unit.service()["deploymentConfiguration"] == rolling([])


def test_a_new_runs_service_layer_writes_under_its_own_run_id(unit: Unit) -> None:
    trail = Recorded()
    ctx = SimpleNamespace(trail=trail)

    ops = ServiceOps.new_run(ctx, DeployOptions(timeout_s=7, poll_interval_s=1))  # type: ignore[arg-type]

    assert (ops.ctx, ops.run.trail, ops.run.run_id) == (ctx, trail, "run-1")
    assert (ops.timeout_s, ops.poll_interval_s) == (7, 1)


@pytest.mark.parametrize("alarms", [None, ["shine-latency"]])
def test_every_update_asks_for_the_phases_health_check_grace_period(
    unit: Unit, monkeypatch: pytest.MonkeyPatch, alarms: list[str] | None
) -> None:
    """A slow start-up needs its grace period on each deployment, rolling or native (moto's UpdateService keeps
    the creation's value, so the request itself is read)."""
    unit.created()
    asked: list[Any] = []
    update = unit.ctx.ecs.update_service
    monkeypatch.setattr(
        unit.ctx.ecs, "update_service", lambda *args, **extra: asked.append(args[3]) or update(*args, **extra)
    )
    grace = unit.phase.container.health_check.grace_period_s

    unit.ops.update(unit.revision(), 1, unit.phase, alarms=alarms)
    unit.ops.update_native(unit.revision(), 1, unit.phase, native(unit))
    unit.ops.update(unit.revision(), 1, None)  # a rollback to a revision whose phase is unknown: ECS's own

    assert asked == [grace, grace, None]


def test_a_service_configured_without_public_ips_is_created_without_them(unit: Unit) -> None:
    import yaml

    from snailtrail.config.settings import load_settings
    from snailtrail.ui import Reporter

    path = unit.ctx.settings.path
    document = yaml.safe_load(path.read_text())
    document["service"]["network"]["assign_public_ip"] = False
    path.write_text(yaml.safe_dump(document))
    private = Unit(Context(load_settings(str(path)), Reporter(quiet=True)))

    private.ops.create(private.revision(), private.phase)

    assert private.service()["networkConfiguration"]["awsvpcConfiguration"]["assignPublicIp"] == "DISABLED"
