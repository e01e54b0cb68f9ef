"""ECS's service deployments, as the sandbox's control plane keeps and drives them (moto has none).

A ``ServiceDeployment`` holds what DescribeServiceDeployments answers (``describe()`` gives it in the API's
shape) and the state of one deployment of a service: its stage, its PAUSE hooks, the traffic it moved and
its rollback. ``advance()`` moves a native deployment (BLUE_GREEN, CANARY, LINEAR) through ECS's stages in
ECS's order, through a ``World`` that does the work (moto_deployments.py and the reconciler: the tasks, the
listener rules, the alarms). This module knows nothing of moto.

Sources (docs/sandbox.md, "Native service deployments"): AWS docs "Amazon ECS blue/green deployments",
"Amazon ECS canary deployments", "Amazon ECS linear deployments", "Lifecycle hooks for Amazon ECS service
deployments", "Pause hooks for Amazon ECS service deployments"; API reference DescribeServiceDeployments,
ContinueServiceDeployment, StopServiceDeployment.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

STAGES = (
    "RECONCILE_SERVICE",
    "PRE_SCALE_UP",
    "SCALE_UP",
    "POST_SCALE_UP",
    "TEST_TRAFFIC_SHIFT",
    "POST_TEST_TRAFFIC_SHIFT",
    "PRODUCTION_TRAFFIC_SHIFT",
    "POST_PRODUCTION_TRAFFIC_SHIFT",
    "BAKE_TIME",
    "CLEAN_UP",
)
NATIVE = ("BLUE_GREEN", "CANARY", "LINEAR")
IN_PROGRESS = ("PENDING", "IN_PROGRESS", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "STOP_REQUESTED")
# Defaults from botocore's ecs model (CanaryConfiguration, LinearConfiguration, DeploymentLifecycleHook-
# TimeoutConfiguration): canary 5 % for 10 minutes, linear 10 % steps of 6 minutes, hooks wait 1440 minutes.
CANARY_DEFAULTS = (5.0, 10)
LINEAR_DEFAULTS = (10.0, 6)
HOOK_TIMEOUT_MINUTES = 1440


class World(Protocol):
    """What a deployment acts on: the reconciler's tasks and the control plane's rules and alarms."""

    def new_tasks_ready(self) -> bool: ...
    def set_production(self, new_percent: float) -> None: ...
    def set_test(self, new_percent: float) -> None: ...
    def stop_old_tasks(self) -> bool: ...  # True once they are stopped
    def stop_new_tasks(self) -> bool: ...
    def alarms_in_alarm(self, names: list[str]) -> list[str]: ...


@dataclass
class Hook:
    """One PAUSE (or AWS_LAMBDA) hook waiting at a stage: DeploymentLifecycleHookDetail."""

    hook_id: str
    target_type: str
    status: str
    expires_at: datetime
    timeout_action: str
    target_arn: str | None = None

    def describe(self) -> dict[str, Any]:
        detail = {
            "hookId": self.hook_id,
            "targetType": self.target_type,
            "status": self.status,
            "expiresAt": self.expires_at,
            "timeoutAction": self.timeout_action,
        }
        return detail | ({"targetArn": self.target_arn} if self.target_arn else {})


@dataclass
class ServiceDeployment:
    arn: str
    service_arn: str
    cluster_arn: str
    strategy: str
    configuration: dict[str, Any]
    target_revision: str
    source_revisions: list[str]
    created_at: datetime
    desired: int
    new_group: str | None = None  # the target group the new revision's tasks go to
    old_group: str | None = None
    status: str = "IN_PROGRESS"
    status_reason: str = "ECS deployment in progress."
    stage: str | None = None
    stage_started: datetime | None = None
    finished_at: datetime | None = None
    stopped_at: datetime | None = None
    updated_at: datetime | None = None
    hooks: list[Hook] = field(default_factory=list)
    production_percent: float = 0.0
    test_percent: float = 0.0
    rollback: dict[str, Any] | None = None
    breaker_failures: int = 0
    triggered_alarms: list[str] = field(default_factory=list)
    pending_action: str | None = None  # CONTINUE or ROLLBACK from a hook, not yet acted on

    @property
    def native(self) -> bool:
        return self.strategy in NATIVE and bool(self.source_revisions)

    @property
    def in_progress(self) -> bool:
        return self.status in IN_PROGRESS

    def brief(self) -> dict[str, Any]:
        return _present(
            {
                "serviceDeploymentArn": self.arn,
                "serviceArn": self.service_arn,
                "clusterArn": self.cluster_arn,
                "createdAt": self.created_at,
                "startedAt": self.created_at,
                "finishedAt": self.finished_at,
                "targetServiceRevisionArn": self.target_revision,
                "status": self.status,
                "statusReason": self.status_reason,
            }
        )

    def describe(self, running: dict[str, tuple[int, int]]) -> dict[str, Any]:
        """DescribeServiceDeployments' ServiceDeployment; ``running``: revision ARN -> (running, pending)."""
        configuration = self.configuration
        alarms = configuration.get("alarms") or {}
        breaker = configuration.get("deploymentCircuitBreaker") or {}

        def revision(arn: str, requested: int, production: float, test: float) -> dict[str, Any]:
            counts = running.get(arn, (0, 0))
            return {
                "arn": arn,
                "requestedTaskCount": requested,
                "runningTaskCount": counts[0],
                "pendingTaskCount": counts[1],
                "requestedProductionTrafficWeight": production,
                "requestedTestTrafficWeight": test,
            }

        # ServiceDeployment holds ServiceDeploymentBrief's fields but the target's ARN, which it details.
        brief = {key: value for key, value in self.brief().items() if key != "targetServiceRevisionArn"}
        return brief | _present(
            {
                "stoppedAt": self.stopped_at,
                "updatedAt": self.updated_at or self.created_at,
                "sourceServiceRevisions": [
                    revision(arn, self.desired, 100.0 - self.production_percent, 100.0 - self.test_percent)
                    for arn in self.source_revisions
                ],
                "targetServiceRevision": revision(
                    self.target_revision, self.desired, self.production_percent, self.test_percent
                ),
                "lifecycleStage": self.stage,
                "lifecycleHookDetails": [hook.describe() for hook in self.hooks],
                "deploymentConfiguration": configuration,
                "rollback": self.rollback,
                "deploymentCircuitBreaker": {
                    "status": _monitor(bool(breaker.get("enable")), self),
                    "failureCount": self.breaker_failures,
                    "threshold": max(3, min(200, -(-self.desired // 2))),
                },
                "alarms": {
                    "status": "TRIGGERED" if self.triggered_alarms else _monitor(bool(alarms.get("enable")), self),
                    "alarmNames": list(alarms.get("alarmNames") or []),
                    "triggeredAlarmNames": list(self.triggered_alarms),
                },
            }
        )


def _monitor(enabled: bool, deployment: ServiceDeployment) -> str:
    if not enabled:
        return "DISABLED"
    return "MONITORING" if deployment.in_progress else "MONITORING_COMPLETE"


def _present(answer: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in answer.items() if value is not None}


def deployment_arn(service_arn: str, cluster: str, service: str) -> str:
    """arn:aws:ecs:REGION:ACCOUNT:service-deployment/CLUSTER/SERVICE/ID (API reference, ServiceDeployment)."""
    prefix = service_arn.split(":service/", 1)[0]
    return f"{prefix}:service-deployment/{cluster}/{service}/{uuid.uuid4().hex[:22]}"


def revision_arn(service_arn: str, cluster: str, service: str) -> str:
    prefix = service_arn.split(":service/", 1)[0]
    return f"{prefix}:service-revision/{cluster}/{service}/{uuid.uuid4().int % 10**19:019d}"


class Driver:
    """Moves one native deployment through its stages; ``minute_s`` is the sandbox minute (docs/sandbox.md)."""

    def __init__(self, deployment: ServiceDeployment, world: World, now: datetime, minute_s: float) -> None:
        self.d = deployment
        self.world = world
        self.now = now
        self.minute_s = minute_s

    def minutes(self, count: float) -> timedelta:
        return timedelta(seconds=count * self.minute_s)

    def advance(self) -> None:
        """One step of work, as far as the deployment can go now."""
        d = self.d
        if d.status in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
            self._roll_back()
            return
        if not d.in_progress:
            return
        if d.status == "PENDING":
            d.status = "IN_PROGRESS"
        if d.stage is None:
            self._enter("RECONCILE_SERVICE")
        for _ in range(len(STAGES) * 4):  # each stage that can finish now does; a bound, not a loop guard
            if not self._monitors_pass() or not self._hooks_resolved():
                return
            if not self._stage_work_done():
                return
            following = _next(d.stage)
            if following is None:
                self._succeed()
                return
            self._enter(following)

    # -- stages ----------------------------------------------------------------------------------
    def _enter(self, stage: str) -> None:
        d = self.d
        d.stage, d.stage_started, d.updated_at = stage, self.now, self.now
        d.hooks = [
            self._hook(h) for h in self.d.configuration.get("lifecycleHooks") or [] if stage in h["lifecycleStages"]
        ]

    def _hook(self, hook: dict[str, Any]) -> Hook:
        timeout = hook.get("timeoutConfiguration") or {}
        minutes = timeout.get("timeoutInMinutes") or HOOK_TIMEOUT_MINUTES
        return Hook(
            uuid.uuid4().hex[:16],
            hook.get("targetType") or "AWS_LAMBDA",
            "AWAITING_ACTION" if hook.get("targetType") == "PAUSE" else "SUCCEEDED",
            self.now + self.minutes(minutes),
            timeout.get("action") or "ROLLBACK",
            hook.get("hookTargetArn"),
        )

    def _hooks_resolved(self) -> bool:
        d = self.d
        for hook in d.hooks:
            if hook.status == "AWAITING_ACTION" and self.now >= hook.expires_at:
                hook.status = "TIMED_OUT"
                if hook.timeout_action == "ROLLBACK":
                    self.start_rollback("A lifecycle hook timed out and its timeout action is ROLLBACK.")
                    return False
        return all(hook.status != "AWAITING_ACTION" for hook in d.hooks)

    def _monitors_pass(self) -> bool:
        alarms = self.d.configuration.get("alarms") or {}
        if not alarms.get("enable"):
            return True
        firing = self.world.alarms_in_alarm(list(alarms.get("alarmNames") or []))
        if not firing:
            return True
        self.d.triggered_alarms = firing
        reason = f"CloudWatch alarm(s) {', '.join(firing)} in ALARM state."
        if alarms.get("rollback"):
            self.start_rollback(reason)
        else:  # the deployment fails where it is (ServiceDeployment.stoppedAt)
            self.d.status, self.d.status_reason = "STOPPED", reason
            self.d.stopped_at = self.d.finished_at = self.d.updated_at = self.now
        return False

    def _stage_work_done(self) -> bool:
        d, world = self.d, self.world
        stage = d.stage
        if stage == "SCALE_UP":
            return world.new_tasks_ready()
        if stage == "TEST_TRAFFIC_SHIFT":
            d.test_percent = 100.0
            world.set_test(100.0)
            return True
        if stage == "PRODUCTION_TRAFFIC_SHIFT":
            return self._shift_production()
        if stage == "BAKE_TIME":
            return self._waited(self.d.configuration.get("bakeTimeInMinutes") or 0)
        if stage == "CLEAN_UP":
            return world.stop_old_tasks()
        return True

    def _waited(self, minutes: float) -> bool:
        assert self.d.stage_started is not None
        return self.now >= self.d.stage_started + self.minutes(minutes)

    def _shift_production(self) -> bool:
        """BLUE_GREEN: 100 % at once; CANARY: canaryPercent, its bake, then 100 %; LINEAR: stepPercent steps,
        each baked but the last."""
        d, configuration = self.d, self.d.configuration
        if d.strategy == "CANARY":
            canary = configuration.get("canaryConfiguration") or {}
            percent = float(canary.get("canaryPercent", CANARY_DEFAULTS[0]))
            bake = canary.get("canaryBakeTimeInMinutes", CANARY_DEFAULTS[1])
            steps = [percent, 100.0] if percent < 100 else [100.0]
        elif d.strategy == "LINEAR":
            linear = configuration.get("linearConfiguration") or {}
            step = float(linear.get("stepPercent", LINEAR_DEFAULTS[0]))
            bake = linear.get("stepBakeTimeInMinutes", LINEAR_DEFAULTS[1])
            count = int(-(-100 // step))
            steps = [min(100.0, round(step * (i + 1), 1)) for i in range(count)]
        else:
            steps, bake = [100.0], 0
        if d.production_percent >= 100.0:
            return True
        following = next(p for p in steps if p > d.production_percent)
        if d.production_percent > 0 and not self._waited(bake):
            return False
        d.production_percent = following
        d.stage_started = d.updated_at = self.now
        self.world.set_production(following)
        if following < 100.0:
            # ECS runs the stage's hooks again at every step (lifecycleStage docs).
            hooks = configuration.get("lifecycleHooks") or []
            d.hooks = [self._hook(x) for x in hooks if "PRODUCTION_TRAFFIC_SHIFT" in x["lifecycleStages"]]
            return False
        return True

    def _succeed(self) -> None:
        d = self.d
        d.status, d.status_reason = "SUCCESSFUL", "Service deployment completed successfully."
        d.finished_at = d.updated_at = self.now

    # -- rollback ----------------------------------------------------------------------------------
    def start_rollback(self, reason: str) -> None:
        """All production traffic back on the old revision at once, the new tasks stopped (_roll_back)."""
        request_rollback(self.d, reason, self.now)
        self._roll_back()

    def _roll_back(self) -> None:
        d = self.d
        if d.status == "ROLLBACK_REQUESTED":
            d.status = "ROLLBACK_IN_PROGRESS"
        d.production_percent = d.test_percent = 0.0
        self.world.set_production(0.0)
        self.world.set_test(0.0)
        if self.world.stop_new_tasks():
            d.status = "ROLLBACK_SUCCESSFUL"
            d.finished_at = d.updated_at = self.now


def request_rollback(deployment: ServiceDeployment, reason: str, now: datetime) -> None:
    """A rollback asked for (ContinueServiceDeployment ROLLBACK, StopServiceDeployment, a hook's timeout, the
    circuit breaker, an alarm): ``rollback`` filled; the next pass of the reconciler moves the traffic back."""
    deployment.status, deployment.status_reason = "ROLLBACK_REQUESTED", reason
    deployment.rollback = {
        "reason": reason,
        "startedAt": now,
        "serviceRevisionArn": deployment.source_revisions[0]
        if deployment.source_revisions
        else deployment.target_revision,
    }
    for hook in deployment.hooks:
        if hook.status == "AWAITING_ACTION":
            hook.status = "FAILED"
    deployment.updated_at = now


def _next(stage: str | None) -> str | None:
    index = STAGES.index(stage) if stage in STAGES else -1
    return STAGES[index + 1] if index + 1 < len(STAGES) else None
