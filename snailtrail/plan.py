"""What a deploy will do, decided before anything changes: steps, API calls, diffs.

``plan`` and ``deploy --dry-run`` print this and stop; ``deploy`` hands it to the executor. Building
it makes read-only calls only.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws_rules import strategy_problems
from snailtrail.capacity import DesiredCount, planned_count
from snailtrail.colours import Colours
from snailtrail.config import Settings, StrategyConfig, StrategyKind
from snailtrail.context import Context
from snailtrail.errors import ConfigError
from snailtrail.history import rollback_target
from snailtrail.phases import Phase
from snailtrail.taskdef import Revision, normalize, render

IMAGE_PLACEHOLDER = "<built and pushed by this deploy>"


@dataclass(frozen=True)
class Step:
    name: str
    summary: str
    api_calls: tuple[str, ...] = ()
    mutating: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "api_calls": list(self.api_calls),
            "mutating": self.mutating,
        }


@dataclass(frozen=True)
class DeployOptions:
    image: str | None = None
    build: bool = True
    build_args: dict[str, str] = field(default_factory=dict)
    smoke: bool = True
    timeout_s: float = 600.0
    timeout_explained: str | None = None  # how timeout_s was derived (rollout_budget), said in the plan
    rollback: bool = True
    create: bool = False  # --yes: the operator agreed to create a missing service
    poll_interval_s: float = 5.0
    strategy: StrategyKind | None = None  # --strategy: overrides the phase's and the environment's
    desired_count: int | None = None  # --desired-count: else never fewer tasks than run now


@dataclass
class DeployPlan:
    phase: Phase
    environment: str
    options: DeployOptions
    rendered: dict[str, Any]
    service: dict[str, Any] | None
    live_definition: dict[str, Any] | None
    identical: Revision | None
    rollback_target: Revision | None
    strategy: StrategyConfig
    colours: Colours
    desired: DesiredCount
    steps: list[Step] = field(default_factory=list)

    @property
    def creates_service(self) -> bool:
        return self.service is None

    @property
    def progressive(self) -> bool:
        """Blue-green or canary, with a live colour to compare against and fall back to."""
        return (
            self.strategy.kind is not StrategyKind.rolling
            and self.colours.idle is not None
            and (self.service or {}).get("desiredCount", 0) > 0
        )

    def require_consent(self, settings: Settings) -> None:
        """Creating a service is never a surprise: --yes or the environment's opt-in."""
        if self.creates_service and not (self.options.create or settings.environment.create_service_if_missing):
            raise ConfigError(
                f"service {settings.service.name} does not exist in cluster {settings.service.cluster}",
                fix="pass --yes to create it from the manifest, or set create_service_if_missing: true "
                f"on environment {settings.environment_name}",
            )

    def desired_service(self) -> dict[str, Any]:
        spec = self.phase.container
        return {
            "taskDefinition": self.identical.arn if self.identical else "<new revision>",
            "desiredCount": self.desired.count,
            "healthCheckGracePeriodSeconds": spec.health_check.grace_period_s,
        }

    def live_service(self) -> dict[str, Any]:
        if self.service is None:
            return {}
        return {
            "taskDefinition": self.service.get("taskDefinition"),
            "desiredCount": self.service.get("desiredCount"),
            # Unset is ECS's default, 0 (API reference, CreateService healthCheckGracePeriodSeconds).
            "healthCheckGracePeriodSeconds": self.service.get("healthCheckGracePeriodSeconds") or 0,
        }

    def task_definition_diff(self) -> str:
        live = normalize(self.live_definition) if self.live_definition else {}
        return _diff(live, normalize(self.rendered), "live task definition", "rendered task definition")

    def service_diff(self) -> str:
        return _diff(self.live_service(), self.desired_service(), "live service", "after deploy")

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase.name,
            "environment": self.environment,
            "creates_service": self.creates_service,
            "strategy": self.strategy.kind.value if self.progressive else StrategyKind.rolling.value,
            "live_service": self.colours.live.service,
            "reuses_task_definition": self.identical.arn if self.identical else None,
            "rollback_target": self.rollback_target.arn if self.rollback_target else None,
            "desired_count": self.desired.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "task_definition_diff": self.task_definition_diff(),
            "service_diff": self.service_diff(),
        }


def _diff(before: dict[str, Any], after: dict[str, Any], before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(
        json.dumps(before, indent=2, sort_keys=True).splitlines(),
        json.dumps(after, indent=2, sort_keys=True).splitlines(),
        fromfile=before_name,
        tofile=after_name,
        lineterm="",
    )
    return "\n".join(lines)


def build_plan(ctx: Context, phase: Phase, options: DeployOptions) -> DeployPlan:
    from snailtrail.progressive import strategy_for

    settings = ctx.settings
    strategy = strategy_for(settings, phase, options.strategy)
    service = ctx.colours.live_service
    live_definition = None
    if service is not None and service.get("taskDefinition"):
        live_definition = ctx.history.get(service["taskDefinition"]).definition
    image = options.image or IMAGE_PLACEHOLDER
    rendered = render(settings, phase, image)
    running = service.get("taskDefinition") if service else None
    identical = ctx.history.find_identical(rendered, phase.name, running) if options.image else None
    plan = DeployPlan(
        phase,
        settings.environment_name,
        options,
        rendered,
        service,
        live_definition,
        identical,
        rollback_target(ctx, identical.arn if identical else None),
        strategy,
        ctx.colours,
        planned_count(ctx, phase.container.desired_count, service, options.desired_count),
    )
    if plan.progressive and not options.rollback:
        raise ConfigError(
            f"--no-rollback does not apply to a {strategy.kind.value} deploy: a failed gate always returns the "
            "traffic to the old colour",
            fix="drop --no-rollback, or deploy with --strategy rolling --no-rollback",
        )
    if plan.progressive:
        # An aws environment's were refused before any call (aws_rules); the sandbox's are only told.
        for problem in strategy_problems(ctx.settings, strategy, "strategy"):
            ctx.reporter.warn(f"{problem.field}: {problem.message} (fix: {problem.fix})")
    if strategy.kind is not StrategyKind.rolling and not plan.progressive:
        ctx.reporter.warn(
            f"{strategy.kind.value}: no colour takes traffic yet, so there is nothing to compare with or fall "
            f"back to; this first deploy is rolling, onto {ctx.colours.live.service}"
        )
    plan.steps = _steps(ctx, plan)
    return plan


def _steps(ctx: Context, plan: DeployPlan) -> list[Step]:
    options, phase, settings = plan.options, plan.phase, ctx.settings
    steps: list[Step] = []
    if options.image is None and options.build:
        steps.append(
            Step("build", f"docker build {phase.manifest.image.dockerfile} (context {phase.manifest.image.context})")
        )
    if options.smoke:
        steps.append(
            Step(
                "smoke",
                f"run the image locally with the task definition's environment; probe port "
                f"{phase.container.port}{phase.container.health_check.path}",
            )
        )
    if options.image is None:
        registry = settings.environment.registry
        calls = ("ecr.GetAuthorizationToken",) if registry == "ecr" else ()
        steps.append(Step("push", f"push to {registry}/{settings.service.image_repository}, record the digest", calls))
    if plan.identical:
        steps.append(Step("register", f"reuse identical {plan.identical.arn}"))
    else:
        steps.append(
            Step(
                "register",
                f"register a new revision of {settings.service.task_family}",
                ("ecs.RegisterTaskDefinition",),
                mutating=True,
            )
        )
    steps.extend(_progressive_steps(ctx, plan) if plan.progressive else _rolling_steps(ctx, plan))
    return steps


VERIFY_AND_MARK = (
    Step(
        "verify",
        "success criteria through the public endpoint and target health",
        ("elbv2.DescribeTargetGroups", "elbv2.DescribeTargetHealth"),
    ),
    Step("mark", "tag the revision verified", ("ecs.TagResource",), mutating=True),
)


def _rolling_steps(ctx: Context, plan: DeployPlan) -> list[Step]:
    options, settings = plan.options, ctx.settings
    live = ctx.colours.live
    steps: list[Step] = []
    if plan.creates_service:
        steps.append(
            Step(
                "create",
                f"create service {live.service} in cluster {settings.service.cluster} (it does not exist)",
                (
                    "ec2.DescribeSubnets",
                    "ec2.DescribeSecurityGroups",
                    "elbv2.DescribeTargetGroups",
                    "ecs.CreateService",
                ),
                mutating=True,
            )
        )
    else:
        steps.append(
            Step(
                "update",
                f"update service {live.service} to the new revision, desired count {plan.desired.count}",
                ("ecs.UpdateService",),
                mutating=True,
            )
        )
    steps.append(
        Step(
            "wait",
            f"watch the rollout (timeout {options.timeout_s:.0f} s)",
            ("ecs.DescribeServices", "ecs.ListTasks", "ecs.DescribeTasks"),
        )
    )
    steps.extend(VERIFY_AND_MARK)
    return steps


def _progressive_steps(ctx: Context, plan: DeployPlan) -> list[Step]:
    """Start the idle colour, verify it without traffic, shift traffic step by step, retire the old one."""
    strategy = plan.strategy
    old, new = plan.colours.live, plan.colours.idle
    assert new is not None  # plan.progressive
    blue_green = ctx.settings.service.blue_green
    creates = plan.colours.services[new.service] is None
    steps = [
        Step(
            "start",
            f"{'create' if creates else 'update'} {new.service} ({new.name}) with {plan.desired.count} "
            f"task(s) of the new revision, beside live {old.service} ({old.name}); no traffic yet",
            ("dynamodb.PutItem", "ecs.CreateService" if creates else "ecs.UpdateService"),
            mutating=True,
        ),
        Step(
            "wait",
            f"watch {new.service}'s rollout (timeout {plan.options.timeout_s:.0f} s)",
            ("ecs.DescribeServices", "ecs.ListTasks", "ecs.DescribeTasks"),
        ),
        Step(
            "test",
            f"before any traffic: target health in {new.target_group}"
            + (
                f" and the phase's HTTP criteria through test listener :{blue_green.test_listener_port}"
                if blue_green and blue_green.test_listener_port
                else " (no test listener: HTTP criteria wait for traffic)"
            ),
            ("elbv2.ModifyListener", "elbv2.DescribeTargetHealth"),
        ),
    ]
    weights = [s.weight for s in strategy.steps] if strategy.kind is StrategyKind.canary else []
    gates = strategy.gates
    for weight in [*weights, 100]:
        bake = strategy.bake_for(weight)
        steps.append(
            Step(
                f"shift-{weight}",
                f"{weight}% of traffic to {new.name}, one listener update; bake {bake:.0f} s under the gates "
                f"(error rate +{gates.max_error_rate_increase:.0%}, latency {gates.max_latency_ratio}x {old.name}, "
                f"from {gates.min_requests} requests)",
                ("elbv2.ModifyListener", "cloudwatch.GetMetricData", "elbv2.DescribeTargetHealth"),
                mutating=True,
            )
        )
    steps.extend(VERIFY_AND_MARK)
    steps.append(
        Step("retire", f"scale {old.service} ({old.name}) to 0", ("ecs.UpdateService", "dynamodb.DeleteItem"), True)
    )
    return steps
