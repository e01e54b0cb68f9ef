"""A native service deployment of the one service, with snailtrail as its judge.

ECS moves the traffic (BLUE_GREEN, CANARY, LINEAR); snailtrail follows the service deployment
(ListServiceDeployments, DescribeServiceDeployments), writes each stage it sees to the trail, and at each
of its PAUSE hooks decides (Amazon ECS Developer Guide, "Pause hooks for Amazon ECS service deployments"):

- POST_TEST_TRAFFIC_SHIFT: the phase's success criteria through the test listener and the new tasks'
  target health, before any production traffic;
- while production traffic shifts (the canary's bake, the linear steps) and at POST_PRODUCTION_TRAFFIC_SHIFT:
  the gates (checks/gates.py) on the new revision's traffic against the old one's and the named alarms;
- during BAKE_TIME: the gates again, until ECS calls the deployment SUCCESSFUL.

It answers with ContinueServiceDeployment CONTINUE. A decision against the new revision is the caller's
to act on (``roll_back``): ContinueServiceDeployment ROLLBACK on a hook that waits, else
StopServiceDeployment ROLLBACK. A rollback ECS makes by itself (circuit breaker, alarms, a hook's
timeout) ends the follow as ``EcsRolledBack``, with ECS's own reason.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from snailtrail.aws.cloudwatch import TrafficMetrics, alarms_in_alarm
from snailtrail.aws.elbv2 import forward_weights
from snailtrail.checks.base import CheckResult, Status, fail, ok
from snailtrail.checks.gates import alarm_gate, traffic_gate
from snailtrail.config.phases import Phase
from snailtrail.config.strategy_config import StrategyConfig
from snailtrail.context import Context
from snailtrail.plan.steps import GateFailed, StepFailed
from snailtrail.run.native_setup import PRODUCTION_STAGE, TEST_STAGE, NativeSetup
from snailtrail.run.success_criteria import wanted_healthy_targets
from snailtrail.state.run_trail import RunTrail

ROLLED_BACK = ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
ENDED = ("SUCCESSFUL", "STOPPED", "ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED")
BASELINE_S = 300  # how far back the old revision's traffic counts as its baseline


class EcsRolledBack(StepFailed):
    """ECS rolled the deployment back (or stopped it) by itself, or at an operator's request."""


def rollback_cause(deployment: dict[str, Any]) -> str:
    """What rolled a deployment back, in ECS's own words: circuit breaker, alarms, a hook, an operator."""
    causes = []
    if (deployment.get("deploymentCircuitBreaker") or {}).get("status") == "TRIGGERED":
        breaker = deployment["deploymentCircuitBreaker"]
        causes.append(f"ECS's circuit breaker ({breaker.get('failureCount', '?')} failed tasks)")
    alarms = deployment.get("alarms") or {}
    if alarms.get("status") == "TRIGGERED":
        causes.append(f"CloudWatch alarm(s) {', '.join(alarms.get('triggeredAlarmNames') or []) or '?'}")
    timed_out = [h for h in deployment.get("lifecycleHookDetails") or [] if h.get("status") == "TIMED_OUT"]
    if timed_out:
        causes.append("a PAUSE hook timed out with timeout action ROLLBACK (no one answered it)")
    reason = (deployment.get("rollback") or {}).get("reason") or deployment.get("statusReason")
    if reason:
        causes.append(reason)
    return "; ".join(causes) or deployment.get("status", "rolled back")


def waiting_hook(deployment: dict[str, Any]) -> dict[str, Any] | None:
    """The PAUSE hook waiting for an answer, if any."""
    return next((h for h in deployment.get("lifecycleHookDetails") or [] if h.get("status") == "AWAITING_ACTION"), None)


class NativeDeployment:
    """One native deployment of the service, followed and judged by this run."""

    def __init__(
        self,
        ctx: Context,
        run: RunTrail,
        phase: Phase,
        setup: NativeSetup,
        strategy: StrategyConfig,
        poll_interval_s: float,
        timeout_s: float,
    ) -> None:
        self.ctx = ctx
        self.run = run
        self.phase = phase
        self.setup = setup
        self.strategy = strategy
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.arn: str | None = None  # the service deployment, once ListServiceDeployments shows it
        self.updated_at: datetime | None = None
        self.stage: str | None = None
        self.status: str | None = None
        self.hooks_seen: dict[str, str] = {}  # hookId -> status last seen
        self.new_group: str | None = None  # the target group the new revision registers in
        self.production_started: datetime | None = None
        self.evidence: list[str] = []  # what each judgement found, for the hold's message
        self.metrics = TrafficMetrics(ctx.clients)

    # -- following ------------------------------------------------------------------------------
    def find(self) -> str:
        """The service deployment this run's UpdateService started: the newest in flight."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            found = self.ctx.ecs.in_flight_deployments(self.ctx.settings.service.name)
            if found:
                self.arn = str(found[0]["serviceDeploymentArn"])
                self.run.emit(
                    "deployment.started",
                    self.phase.name,
                    f"ECS service deployment {self.arn.rsplit('/', 1)[-1]} ({self.strategy.kind.ecs_strategy})",
                    data={"service_deployment": self.arn, "strategy": self.strategy.kind.ecs_strategy},
                )
                return self.arn
            if time.monotonic() > deadline:
                raise StepFailed(
                    "ECS started no service deployment after UpdateService",
                    fix="`snailtrail status` shows the service; its events say why",
                )
            time.sleep(self.poll_interval_s)

    def describe(self) -> dict[str, Any]:
        """The deployment now; each new stage and hook status goes to the trail; a rollback ECS made ends it."""
        arn = self.arn or self.find()
        deployment = self.ctx.ecs.service_deployment(arn) or {}
        stage, status = deployment.get("lifecycleStage"), deployment.get("status")
        if (stage, status) != (self.stage, self.status):
            self.stage, self.status = stage, status
            self.run.emit(
                "deployment.stage",
                self.phase.name,
                f"{stage} ({status})",
                data={"service_deployment": arn, "stage": stage, "status": status, "evidence": _evidence(deployment)},
            )
        for hook in deployment.get("lifecycleHookDetails") or []:
            if self.hooks_seen.get(hook["hookId"]) != hook.get("status"):
                self.hooks_seen[hook["hookId"]] = hook.get("status", "")
                self.run.emit(
                    "deployment.hook",
                    self.phase.name,
                    f"hook at {stage}: {hook.get('status')} (expires {hook.get('expiresAt')}, "
                    f"on timeout {hook.get('timeoutAction')})",
                    data={"service_deployment": arn, "stage": stage, "hook": _jsonable(hook)},
                )
        if status in ROLLED_BACK or status == "STOPPED":
            raise EcsRolledBack(
                f"ECS rolled the deployment back at {stage}: {rollback_cause(deployment)}",
                fix="the old revision keeps the traffic; `snailtrail logs` and `snailtrail status` say why",
            )
        return deployment

    def await_hook(self, stage: str, watch: Callable[[], None] | None = None) -> dict[str, Any]:
        """Follow until the hook at ``stage`` waits for an answer; ``watch`` judges in between (gates)."""
        deadline = time.monotonic() + self.timeout_s
        while True:
            deployment = self.describe()
            hook = waiting_hook(deployment)
            if hook is not None and deployment.get("lifecycleStage") == stage:
                return deployment
            if _passed(deployment, stage):
                return deployment  # answered by someone else: `snailtrail promote`
            if watch is not None and deployment.get("lifecycleStage") == "PRODUCTION_TRAFFIC_SHIFT":
                watch()
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"the deployment did not reach {stage} in {self.timeout_s:.0f} s (it is at {self.stage})",
                    fix="`snailtrail status` shows the deployment; `snailtrail abort` rolls it back",
                )
            time.sleep(self.poll_interval_s)

    def answer(self, deployment: dict[str, Any], stage: str, evidence: str) -> str:
        """CONTINUE the hook waiting at ``stage``; a hook someone already answered is said so."""
        hook = waiting_hook(deployment)
        if hook is None or deployment.get("lifecycleStage") != stage:
            self.run.emit("deployment.promoted", self.phase.name, f"{stage} was continued by an operator")
            return f"{stage}: continued by an operator (`snailtrail promote`)"
        self.ctx.ecs.continue_deployment(str(self.arn), hook["hookId"], "CONTINUE")
        self.run.emit(
            "deployment.continued",
            self.phase.name,
            f"{stage}: CONTINUE ({evidence})",
            data={"service_deployment": self.arn, "stage": stage, "hook": hook["hookId"], "evidence": evidence},
        )
        return f"{stage}: {evidence}; continued"

    # -- judging --------------------------------------------------------------------------------
    def test(self, judge_criteria: Callable[[str], str], hold: bool) -> str:
        """At POST_TEST_TRAFFIC_SHIFT: the criteria through the test listener, on the group it forwards to;
        then CONTINUE, unless a manual hold leaves the hook to an operator."""
        deployment = self.await_hook(TEST_STAGE)
        self.new_group = self._tested_group()
        evidence = self._judged(lambda: judge_criteria(self._new_group()))
        self.evidence.append(f"{TEST_STAGE}: {evidence}")
        if not hold:
            return self.answer(deployment, TEST_STAGE, evidence)
        return f"{TEST_STAGE}: {evidence}; held for an operator"

    def hold(self) -> str:
        """A manual hold: say what waits, with the evidence and the exact commands, then follow until an
        operator answers (`snailtrail promote`: CONTINUE; `snailtrail abort`: ROLLBACK) or ECS times out."""
        deployment = self.describe()
        hook = waiting_hook(deployment) or {}
        environment = self.ctx.settings.environment_name
        self.run.emit(
            "deployment.held",
            self.phase.name,
            f"{self.phase.name} waits at {deployment.get('lifecycleStage')} for an operator, no production traffic "
            f"on the new revision yet; evidence: {'; '.join(self.evidence)}. Continue: `snailtrail promote --env "
            f"{environment}`; roll back: `snailtrail abort --env {environment}`. On timeout "
            f"({hook.get('expiresAt')}) ECS will {hook.get('timeoutAction', 'ROLLBACK')}",
            data={
                "service_deployment": self.arn,
                "stage": deployment.get("lifecycleStage"),
                "evidence": self.evidence,
                "promote": f"snailtrail promote --env {environment}",
                "abort": f"snailtrail abort --env {environment}",
                "hook": _jsonable(hook),
            },
        )
        while True:
            deployment = self.describe()  # an abort or a timeout's ROLLBACK ends here as EcsRolledBack
            if _passed(deployment, TEST_STAGE):
                return f"continued by an operator at {TEST_STAGE}"
            time.sleep(self.poll_interval_s)

    def production(self, judge_criteria: Callable[[str], str]) -> str:
        """Follow production traffic's shift under the gates; at POST_PRODUCTION_TRAFFIC_SHIFT the gates and
        the criteria through the public endpoint, then CONTINUE."""
        self.production_started = datetime.now(UTC)
        deployment = self.await_hook(PRODUCTION_STAGE, watch=self.gates)
        verdicts = self.gates(judged_traffic=True)
        criteria = self._judged(lambda: judge_criteria(self._new_group()))
        return self.answer(deployment, PRODUCTION_STAGE, f"{verdicts}; {criteria}")

    def bake(self) -> str:
        """BAKE_TIME to SUCCESSFUL under the gates (ECS keeps the old revision until then)."""
        deadline = (
            time.monotonic() + self.timeout_s + self.strategy.bake_minutes * self.ctx.settings.environment.minute_s
        )
        last = "no judgement yet"
        while True:
            deployment = self.describe()
            if deployment.get("status") == "SUCCESSFUL":
                return f"SUCCESSFUL after the bake ({last})"
            last = self.gates()
            if time.monotonic() > deadline:
                raise StepFailed(
                    f"the deployment did not finish its bake in time (it is at {self.stage})",
                    fix="`snailtrail status` shows the deployment; `snailtrail abort` rolls it back",
                )
            time.sleep(self.poll_interval_s)

    def _judged(self, judge: Callable[[], str]) -> str:
        """A judgement whose failure may be ECS's own rollback (an operator's abort, a timeout) under it:
        said as ECS's, not as the criteria's."""
        try:
            return judge()
        except StepFailed:
            self.describe()  # raises EcsRolledBack when ECS rolled back meanwhile
            raise

    def gates(self, judged_traffic: bool = False) -> str:
        """Health, traffic and alarms now; a failed gate raises GateFailed (the caller rolls back).
        ``judged_traffic``: production traffic has moved, so traffic the gates could not judge (too few
        requests) fails, unless gates.allow_no_traffic."""
        traffic = self._traffic()
        if judged_traffic and traffic.status is Status.SKIP and not self.strategy.gates.allow_no_traffic:
            traffic = fail(
                f"production traffic moved without the gates being able to judge it: {traffic.summary}",
                "send traffic during the canary or linear bake, lengthen it, lower gates.min_requests, or set "
                "gates.allow_no_traffic for a service without steady traffic",
            ).named("traffic")
        verdicts = [self._health(), traffic, self._alarms()]
        failed = next((v for v in verdicts if v.failed), None)
        if failed is not None:
            self.run.emit(
                "gate.failed",
                self.phase.name,
                f"{failed.name}: {failed.summary}",
                ok=False,
                data={"service_deployment": self.arn, "stage": self.stage, "gate": failed.name},
            )
            raise GateFailed(failed.name, failed.summary, failed.fix)
        summary = "; ".join(f"{v.name}: {v.summary}" for v in verdicts)
        self.ctx.reporter.detail(f"{self.stage}: {summary}")
        return summary

    def _health(self) -> CheckResult:
        group = self._new_group()
        states = [d["TargetHealth"]["State"] for d in self.ctx.elbv2.target_health(group)]
        wanted = wanted_healthy_targets(self.phase)
        healthy = states.count("healthy")
        if healthy < wanted:
            return fail(
                f"{healthy} of {wanted} new targets healthy ({', '.join(states) or 'none'})",
                "the new revision's tasks fail the target group's health check under traffic: read their logs",
                [group],
            ).named("new revision health")
        return ok(f"{healthy} healthy new targets").named("new revision health")

    def _traffic(self) -> CheckResult:
        new = self._new_group()
        old = next(g for g in self.setup.groups() if g != new)
        timing = self.ctx.metrics_timing
        started = self.production_started or datetime.now(UTC)
        since = {new: started, old: started - timedelta(seconds=BASELINE_S)}
        traffic = self.metrics.window(
            self.setup.load_balancer, since, timing.judged_end(datetime.now(UTC)), timing.period_s
        )
        return traffic_gate(traffic[new], traffic[old], self.strategy.gates, "new revision", "old revision")

    def _alarms(self) -> CheckResult:
        firing, missing = alarms_in_alarm(self.ctx.clients, list(self.strategy.gates.alarms))
        return alarm_gate(firing, missing)

    def _tested_group(self) -> str:
        """The group the test listener's rule forwards to now: ECS points it at the new revision."""
        weights = forward_weights(self.ctx.elbv2.rule(self.setup.test_rule).get("Actions") or [])
        return max(self.setup.groups(), key=lambda group: weights.get(group, 0))

    def _new_group(self) -> str:
        if self.new_group is None:
            self.new_group = self._tested_group()
        return self.new_group

    # -- the way back ---------------------------------------------------------------------------
    def roll_back(self, gate: str, reason: str) -> str:
        """Roll the deployment back through ECS at once, then follow it until production traffic is back on
        the old revision: what happened, with the seconds from the decision."""
        return roll_back_deployment(self.ctx, self.run, self.phase.name, str(self.arn), gate, reason, self.timeout_s)


def roll_back_deployment(
    ctx: Context, run: RunTrail, phase: str | None, arn: str, gate: str, reason: str, timeout_s: float
) -> str:
    """ContinueServiceDeployment ROLLBACK on a waiting hook, else StopServiceDeployment ROLLBACK; then follow
    to ROLLBACK_SUCCESSFUL. Used by a deploy's failed gate and by `snailtrail abort`."""
    decided = time.monotonic()
    deployment = ctx.ecs.service_deployment(arn) or {}
    if deployment.get("status") in ENDED:
        return f"the deployment had already ended: {deployment.get('status')}"
    hook = waiting_hook(deployment)
    if hook is not None:
        ctx.ecs.continue_deployment(arn, hook["hookId"], "ROLLBACK")
        how = f"ContinueServiceDeployment ROLLBACK at {deployment.get('lifecycleStage')}"
    elif deployment.get("status") not in ROLLED_BACK:
        ctx.ecs.stop_deployment(arn)
        how = f"StopServiceDeployment ROLLBACK at {deployment.get('lifecycleStage')}"
    else:
        how = f"ECS was already rolling back ({deployment.get('status')})"
    run.emit(
        "deployment.rollback-requested",
        phase,
        f"{gate}: {reason} — {how}",
        ok=False,
        data={"service_deployment": arn, "gate": gate, "reason": reason, "stage": deployment.get("lifecycleStage")},
    )
    deadline = decided + timeout_s
    while time.monotonic() < deadline:
        deployment = ctx.ecs.service_deployment(arn) or {}
        if deployment.get("status") in ("ROLLBACK_SUCCESSFUL", "ROLLBACK_FAILED", "STOPPED"):
            break
        time.sleep(0.2)
    seconds = time.monotonic() - decided
    status = deployment.get("status")
    run.emit(
        "traffic.restored" if status == "ROLLBACK_SUCCESSFUL" else "deployment.rollback-unfinished",
        phase,
        f"{status} {seconds:.2f} s after the decision ({how})",
        ok=status == "ROLLBACK_SUCCESSFUL",
        duration_s=round(seconds, 3),
        data={"service_deployment": arn, "gate": gate, "reason": reason, "status": status},
    )
    if status != "ROLLBACK_SUCCESSFUL":
        raise StepFailed(
            f"ECS's rollback did not finish: {status} ({rollback_cause(deployment)})",
            fix="`snailtrail status` shows the deployment; `snailtrail abort` asks ECS again",
        )
    return f"{how}: production traffic on the old revision {seconds:.2f} s after the decision"


def in_flight_summary(ctx: Context) -> dict[str, Any] | None:
    """The service deployment ECS has not finished, as `status` shows it: stage, hooks, the commands."""
    found = ctx.ecs.in_flight_deployments(ctx.settings.service.name)
    if not found:
        return None
    arn = str(found[0]["serviceDeploymentArn"])
    deployment = ctx.ecs.service_deployment(arn) or {}
    environment = ctx.settings.environment_name
    return {
        "id": arn.rsplit("/", 1)[-1],
        "arn": arn,
        "strategy": (deployment.get("deploymentConfiguration") or {}).get("strategy", "ROLLING"),
        "status": deployment.get("status"),
        "stage": deployment.get("lifecycleStage"),
        "rollback": rollback_cause(deployment) if deployment.get("status") in ROLLED_BACK else None,
        "hooks": [
            {
                "status": hook.get("status"),
                "expires_at": str(hook.get("expiresAt") or ""),
                "timeout_action": hook.get("timeoutAction"),
            }
            for hook in deployment.get("lifecycleHookDetails") or []
        ],
        "evidence": _evidence(deployment),
        "promote": f"snailtrail promote --env {environment}",
        "abort": f"snailtrail abort --env {environment}",
    }


def _passed(deployment: dict[str, Any], stage: str) -> bool:
    order = [
        "RECONCILE_SERVICE",
        "PRE_SCALE_UP",
        "SCALE_UP",
        "POST_SCALE_UP",
        "TEST_TRAFFIC_SHIFT",
        TEST_STAGE,
        "PRODUCTION_TRAFFIC_SHIFT",
        PRODUCTION_STAGE,
        "BAKE_TIME",
        "CLEAN_UP",
    ]
    now = deployment.get("lifecycleStage")
    return deployment.get("status") == "SUCCESSFUL" or (now in order and order.index(now) > order.index(stage))


def _evidence(deployment: dict[str, Any]) -> dict[str, Any]:
    revision = deployment.get("targetServiceRevision") or {}
    return {
        "production_weight": revision.get("requestedProductionTrafficWeight"),
        "test_weight": revision.get("requestedTestTrafficWeight"),
        "running": revision.get("runningTaskCount"),
        "circuit_breaker": (deployment.get("deploymentCircuitBreaker") or {}).get("status"),
        "alarms": (deployment.get("alarms") or {}).get("status"),
    }


def _jsonable(hook: dict[str, Any]) -> dict[str, Any]:
    return {key: value.isoformat() if isinstance(value, datetime) else value for key, value in hook.items()}
