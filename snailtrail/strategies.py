"""Which strategy a deploy uses, and the steps each strategy is: rolling, blue-green, canary.

Each strategy is a function of the plan that returns its typed steps (snailtrail/steps.py); the
image steps (build, smoke, push, register) come first whatever the strategy.
"""

from __future__ import annotations

from snailtrail.config import Settings, StrategyConfig, StrategyKind
from snailtrail.errors import ConfigError
from snailtrail.phases import Phase
from snailtrail.plan import DeployPlan
from snailtrail.steps import (
    BuildStep,
    CreateServiceStep,
    CriteriaStep,
    MarkStep,
    PushStep,
    RegisterStep,
    RetireStep,
    ShiftStep,
    SmokeStep,
    StartColourStep,
    Step,
    TestColourStep,
    UpdateServiceStep,
    WaitStep,
)


def strategy_for(settings: Settings, phase: Phase, override: StrategyKind | None = None) -> StrategyConfig:
    """--strategy, else the phase's, else the environment's, else rolling."""
    strategy = phase.manifest.strategy or settings.environment.strategy or StrategyConfig()
    if override is not None:
        strategy = strategy.model_copy(update={"kind": override})
    if strategy.kind is not StrategyKind.rolling and settings.service.blue_green is None:
        raise ConfigError(
            f"the {strategy.kind.value} strategy needs a second colour, and {settings.path} has no service.blue_green",
            fix="add service.blue_green.target_group (a second target group in the service's VPC), "
            "or deploy with --strategy rolling",
        )
    return strategy


def deploy_steps(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The image steps, then the strategy's (rolling when there is no live colour to compare with)."""
    if not plan.progressive:
        return image_steps(settings, plan) + rolling(settings, plan)
    if plan.strategy.kind is StrategyKind.canary:
        return image_steps(settings, plan) + canary(settings, plan)
    return image_steps(settings, plan) + blue_green(settings, plan)


def image_steps(settings: Settings, plan: DeployPlan) -> list[Step]:
    options, phase = plan.options, plan.phase
    steps: list[Step] = []
    if options.image is None and options.build:
        image = phase.manifest.image
        steps.append(BuildStep(f"docker build {image.dockerfile} (context {image.context})"))
    if options.smoke:
        steps.append(
            SmokeStep(
                f"run the image locally with the task definition's environment; probe port "
                f"{phase.container.port}{phase.container.health_check.path}"
            )
        )
    if options.image is None:
        registry = settings.environment.registry
        steps.append(
            PushStep(
                f"push to {registry}/{settings.service.image_repository}, record the digest", ecr=registry == "ecr"
            )
        )
    if plan.identical:
        steps.append(RegisterStep(f"reuse identical {plan.identical.arn}", reuse=plan.identical.arn))
    else:
        steps.append(RegisterStep(f"register a new revision of {settings.service.task_family}"))
    return steps


def rolling(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The live service to the new revision (created if missing), watched, verified and marked."""
    live = plan.colours.live
    change: Step = (
        CreateServiceStep(f"create service {live.service} in cluster {settings.service.cluster} (it does not exist)")
        if plan.creates_service
        else UpdateServiceStep(f"update service {live.service} to the new revision, desired count {plan.desired.count}")
    )
    return [
        change,
        WaitStep(f"watch the rollout (timeout {plan.options.timeout_s:.0f} s)", live.service),
        *_criteria_and_mark(),
    ]


def blue_green(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The idle colour started and tested without traffic, then all traffic to it at once."""
    return _beside_the_live_colour(settings, plan, weights=[])


def canary(settings: Settings, plan: DeployPlan) -> list[Step]:
    """As blue-green, with the traffic moved in the strategy's weighted steps, each baked."""
    return _beside_the_live_colour(settings, plan, weights=[s.weight for s in plan.strategy.steps])


def _criteria_and_mark() -> list[Step]:
    return [
        CriteriaStep("success criteria through the public endpoint and target health"),
        MarkStep("tag the revision verified"),
    ]


def _beside_the_live_colour(settings: Settings, plan: DeployPlan, weights: list[int]) -> list[Step]:
    """Start the idle colour, verify it without traffic, shift traffic step by step, retire the old one."""
    strategy = plan.strategy
    old, new = plan.colours.live, plan.colours.idle
    assert new is not None  # plan.progressive
    blue_green_config = settings.service.blue_green
    test_port = blue_green_config.test_listener_port if blue_green_config else None
    creates = plan.colours.services[new.service] is None
    traffic = settings.environment.traffic
    rule = traffic is not None and traffic.rule_priority is not None
    steps: list[Step] = [
        StartColourStep(
            f"{'create' if creates else 'update'} {new.service} ({new.name}) with {plan.desired.count} "
            f"task(s) of the new revision, beside live {old.service} ({old.name}); no traffic yet",
            creates=creates,
            rule=rule,
        ),
        WaitStep(f"watch {new.service}'s rollout (timeout {plan.options.timeout_s:.0f} s)", new.service),
        TestColourStep(
            f"before any traffic: target health in {new.target_group}"
            + (
                f" and the phase's HTTP criteria through test listener :{test_port}"
                if test_port
                else " (no test listener: HTTP criteria wait for traffic)"
            ),
            test_listener=bool(test_port),
            rule=rule,
        ),
    ]
    gates = strategy.gates
    for weight in [*weights, 100]:
        bake = strategy.bake_for(weight)
        steps.append(
            ShiftStep(
                f"{weight}% of traffic to {new.name}, one listener update; bake {bake:.0f} s under the gates "
                f"(error rate +{gates.max_error_rate_increase:.0%}, latency {gates.max_latency_ratio}x {old.name}, "
                f"from {gates.min_requests} requests)",
                weight=weight,
                bake_s=bake,
                rule=rule,
            )
        )
    steps.extend(_criteria_and_mark())
    steps.append(RetireStep(f"scale {old.service} ({old.name}) to 0"))
    return steps
