"""The traffic shift of a blue-green or canary deploy: the new revision beside the old one, then traffic.

The new revision starts as the idle colour (its own service and target group), is verified there
before it gets any production traffic (target health, and the phase's HTTP criteria through the
test listener when there is one), and then takes traffic by the listener's weights: one step per
canary weight, each baked under the gates, then 100 %. The old colour keeps running until the new
one is verified at 100 %, so an abort is a single ModifyListener, then a scale-down.

Gates at every evaluation: an operator's request (`snailtrail abort` / `promote`), the new
colour's target health, and its live traffic against the old colour's (error rate, latency) from
the load balancer's CloudWatch metrics, which the sandbox's front door publishes as an ALB does.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from snailtrail.aws.cloudwatch import TrafficMetrics
from snailtrail.aws.elbv2 import with_forward_weights
from snailtrail.checks.base import CheckResult, Status, fail, ok
from snailtrail.checks.gates import traffic_gate
from snailtrail.colours import Colour
from snailtrail.context import Context
from snailtrail.errors import ConfigError, SnailtrailError, operator_error
from snailtrail.inflight import ABORT, PROMOTE, describe_request
from snailtrail.phases import Phase
from snailtrail.plan import DeployPlan
from snailtrail.recovery import RolloutRecord
from snailtrail.service_ops import ServiceOps
from snailtrail.steps import GateFailed, ShiftStep
from snailtrail.success_criteria import judge_criteria, wanted_healthy_targets
from snailtrail.traffic_route import TrafficRoute, forwarders, require_forward, resolve_route, restore_actions

BASELINE_S = 300  # how far back the old colour's traffic counts as its baseline


@dataclass(frozen=True)
class Listeners:
    """The ARNs a rollout moves traffic with, resolved once."""

    load_balancer: str
    production: TrafficRoute
    restore: list[dict[str, Any]]  # the production actions an abort writes back
    test: str | None
    old_target_group: str
    new_target_group: str


class TrafficShift:
    """The blue-green and canary steps of one deploy; the executor runs them as its own steps."""

    def __init__(self, ctx: Context, ops: ServiceOps, plan: DeployPlan) -> None:
        colours = plan.colours
        assert colours.idle is not None  # plan.progressive guarantees a second colour
        self.ops = ops
        self.run_id = ops.run.run_id
        self.ctx = ctx
        self.plan = plan
        self.old: Colour = colours.live
        self.new: Colour = colours.idle
        self.strategy = plan.strategy
        self.started_at = datetime.now(UTC)
        self.new_weight = 0
        self.promoted_by: str | None = None
        self.began = False
        self.inflight = self.ctx.inflight
        self.metrics = TrafficMetrics(self.ctx.clients)
        # Before any step changes anything: a listener that cannot carry the rollout is refused (exit 2).
        self.listeners = self._resolve_listeners()

    def _resolve_listeners(self) -> Listeners:
        service = self.ctx.settings.service
        lb = service.load_balancer
        balancer = self.ctx.elbv2.load_balancer(lb.name)
        if balancer is None:
            raise ConfigError(f"load balancer {lb.name} does not exist", fix="fix service.load_balancer.name")
        production = resolve_route(self.ctx.elbv2, self.ctx.settings, balancer)
        test_port = service.blue_green.test_listener_port if service.blue_green else None
        test = self.ctx.elbv2.listener(balancer["LoadBalancerArn"], test_port) if test_port else None
        if test_port and test is None:
            raise ConfigError(
                f"{lb.name} has no test listener on port {test_port}",
                fix="create it (HTTP, restricted to your own network), or remove service.blue_green.test_listener_port",
            )
        groups = {}
        for colour in (self.old, self.new):
            group = self.ctx.elbv2.target_group(colour.target_group)
            if group is None:
                raise ConfigError(
                    f"target group {colour.target_group} ({colour.name}) does not exist",
                    fix="create it (ip targets, the container port, the same health check as the other colour)",
                )
            groups[colour.name] = group
        require_forward(
            self.ctx.elbv2, self.ctx.settings, production, balancer["LoadBalancerArn"], groups[self.old.name]
        )
        old, new = groups[self.old.name]["TargetGroupArn"], groups[self.new.name]["TargetGroupArn"]
        return Listeners(
            balancer["LoadBalancerArn"],
            production,
            restore_actions(production, old, new),
            self._test_route(test),
            old,
            new,
        )

    def _test_route(self, test: dict[str, Any] | None) -> str | None:
        """The test listener's rule at the environment's rule priority (it takes the requests before the
        listener's default action), else the test listener itself."""
        if test is None:
            return None
        traffic = self.ctx.settings.environment.traffic
        if traffic is not None and traffic.rule_priority is not None:
            rules = self.ctx.elbv2.rules(test["ListenerArn"])
            rule = next((r for r in rules if r["Priority"] == str(traffic.rule_priority)), None)
            if rule is not None:
                return rule["RuleArn"]
        return test["ListenerArn"]

    # -- the steps ------------------------------------------------------------------------------
    def record(self) -> RolloutRecord:
        """What restoring the old colour needs, as the in-flight record keeps it."""
        listeners = self.listeners
        return RolloutRecord(
            self.run_id,
            self.plan.phase.name,
            self.old.service,
            self.new.service,
            listeners.production.arn,
            listeners.restore,
            self.new_weight,
        )

    def start(self, phase: Phase, arn: str) -> str:
        """Record the rollout in flight, make sure the new colour has no traffic, then start it."""
        listeners = self.listeners
        groups = {"old_target_group": listeners.old_target_group, "new_target_group": listeners.new_target_group}
        self.inflight.begin(self.record().to_inflight() | groups)
        self.began = True
        # A rollout that crashed mid-canary may have left weight on this colour: none until it is tested.
        self._forward(0)
        idle = self.plan.colours.services[self.new.service]
        if idle is None:
            return self.ops.create(arn, phase, colour=self.new, desired=self.plan.desired.count)
        self.ops.note_events(idle)
        return self.ops.update(arn, self.plan.desired.count, phase, service_name=self.new.service)

    def test(self, phase: Phase, arn: str, judged: list[CheckResult]) -> str:
        """The new colour, before any production traffic: target health, and the phase's HTTP
        criteria through the test listener pointed at it."""
        listeners = self.listeners
        if listeners.test is None:
            self.ctx.reporter.warn(
                "no test listener (service.blue_green.test_listener_port): the HTTP criteria are first "
                "judged with production traffic on the new colour"
            )
            return judge_criteria(self.ctx, phase, arn, self.ops.new_tasks, judged, self.new, http=False)
        self.ctx.elbv2.forward_to(listeners.test, {listeners.new_target_group: 1})
        return judge_criteria(self.ctx, phase, arn, self.ops.new_tasks, judged, self.new, base_url=self.ctx.test_url())

    def shift(self, step: ShiftStep) -> str:
        """Move the step's weight of the traffic to the new colour (one ModifyListener), then bake."""
        weight = step.weight
        self._operator_request()  # an abort asked for while the new colour started moves no traffic to it
        if self.promoted_by and weight < 100:
            return f"skipped: promoted by {self.promoted_by}"
        self._forward(weight)
        step_started = datetime.now(UTC)
        bake_s = 0.0 if self.promoted_by else step.bake_s
        verdict = self._bake(bake_s, step_started)
        if verdict.status is Status.SKIP:
            if not (self.strategy.gates.allow_no_traffic or self.promoted_by):
                raise GateFailed(
                    "traffic",
                    f"the bake at {weight}% ended before the gates could judge: {verdict.summary}",
                    "send traffic during the bake, lengthen bake_s, lower gates.min_requests, or set "
                    "gates.allow_no_traffic for a service without steady traffic",
                )
            self.ctx.reporter.warn(f"the traffic gates could not judge {weight}%: {verdict.summary}")
        if weight == 100 and not self.inflight.commit(self.run_id):
            self._operator_request()  # the abort that came first
        return f"{weight}% on {self.new.name} ({self.new.service}), baked {bake_s:.0f} s: {verdict.summary}"

    def retire(self) -> str:
        """The new colour is verified at 100 %: scale the old one to zero and close the rollout.

        Never raises: the deploy is verified by now, and undoing it for a failed scale-down would be
        worse than the old colour's idle tasks. What did not happen is said, with the fix.
        """
        done, problems = [], []
        for action, describe in (
            (self._scale_old_to_zero, f"{self.old.service} scaled to 0"),
            (lambda: self.inflight.end(self.run_id), "rollout closed"),
        ):
            try:
                action()
                done.append(describe)
            except Exception as raw:  # noqa: BLE001 - reported, never undoing a verified deploy
                problems.append(f"{describe} failed: {operator_error(raw).message}")
        self.began = False
        if problems:
            self.ctx.reporter.warn(
                "; ".join(problems) + f" — scale {self.old.service} to 0 by hand and `snailtrail abort` to close"
            )
        return "; ".join(done + problems) + f"; {self.new.service} ({self.new.name}) is live"

    def _scale_old_to_zero(self) -> None:
        """Only once no listener or rule of the load balancer still sends the old colour traffic:
        scaling it down under a forward that was not moved (another port, another rule) gives its
        users 503s."""
        listeners = self.listeners
        still = forwarders(self.ctx.elbv2, listeners.load_balancer, listeners.old_target_group)
        if still:
            raise SnailtrailError(
                f"{', '.join(map(str, still))} of {self.ctx.settings.service.load_balancer.name} still forward "
                f"to {self.old.target_group}: {self.old.service} keeps its tasks until they forward to "
                f"{self.new.target_group}"
            )
        self.ops.scale_to_zero(self.old.service)

    # -- gates ----------------------------------------------------------------------------------
    def _bake(self, bake_s: float, step_started: datetime) -> CheckResult:
        interval = max(self.ops.poll_interval_s, self.ctx.metrics_timing.period_s / 2)
        deadline = time.monotonic() + bake_s
        while True:
            verdict = self._evaluate(step_started)
            if verdict.failed:
                raise GateFailed(verdict.name, verdict.summary, verdict.fix)
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.promoted_by:
                return verdict
            self.ctx.reporter.detail(f"{self.new_weight}% on {self.new.name}: {verdict.summary}")
            time.sleep(min(interval, remaining))

    def _operator_request(self) -> CheckResult | None:
        """An operator's abort (raised as a failed gate) or promote, from the in-flight record."""
        request = self.inflight.read() or {}
        if request.get("request") == ABORT:
            raise GateFailed("operator", f"aborted by {describe_request(request)}")
        if request.get("request") == PROMOTE and not self.promoted_by:
            self.promoted_by = describe_request(request)
            self.ops.run.emit("rollout.promoted", self.plan.phase.name, f"promoted by {self.promoted_by}")
            return ok(f"promoted by {self.promoted_by}: the remaining bake is skipped").named("operator")
        return None

    def _evaluate(self, step_started: datetime) -> CheckResult:
        promoted = self._operator_request()
        if promoted is not None:
            return promoted
        health = self._health()
        if health.failed:
            return health
        return self._traffic(step_started)

    def _health(self) -> CheckResult:
        listeners = self.listeners
        states = [d["TargetHealth"]["State"] for d in self.ctx.elbv2.target_health(listeners.new_target_group)]
        healthy = states.count("healthy")
        wanted = wanted_healthy_targets(self.plan.phase)
        if healthy < wanted:
            return fail(
                f"{healthy} of {wanted} targets healthy in {self.new.target_group} ({', '.join(states) or 'none'})",
                "the new revision's tasks fail the target group's health check under traffic: read their logs",
                [listeners.new_target_group],
            ).named("new colour health")
        return ok(f"{healthy} healthy targets in {self.new.target_group}").named("new colour health")

    def _traffic(self, step_started: datetime) -> CheckResult:
        """The new colour since this step began against the old colour's baseline, one call for both."""
        listeners = self.listeners
        timing = self.ctx.metrics_timing
        since = {
            listeners.new_target_group: step_started,
            listeners.old_target_group: self.started_at - timedelta(seconds=BASELINE_S),
        }
        end = timing.judged_end(datetime.now(UTC))
        traffic = self.metrics.window(listeners.load_balancer, since, end, timing.period_s)
        return traffic_gate(
            traffic[listeners.new_target_group],
            traffic[listeners.old_target_group],
            self.strategy.gates,
            self.new.name,
            self.old.name,
        )

    # -- traffic --------------------------------------------------------------------------------
    def _forward(self, weight: int) -> None:
        self.ops.require_lock()
        listeners = self.listeners
        actions = (
            listeners.restore
            if weight == 0
            else with_forward_weights(
                listeners.restore, {listeners.old_target_group: 100 - weight, listeners.new_target_group: weight}
            )
        )
        self.ctx.elbv2.set_actions(listeners.production.arn, actions)
        self.new_weight = weight
