"""Which strategy a deploy uses, and the steps each strategy is: rolling, or a native service deployment
(blue-green, canary, linear) that ECS runs and snailtrail judges.

Each strategy is a function of the plan that returns its typed steps (snailtrail/plan/steps.py); the
image steps (build, smoke, push, register) come first whatever the strategy.
"""

from __future__ import annotations

from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.config.strategy_config import StrategyConfig, StrategyKind
from snailtrail.config.validation import redact_command
from snailtrail.errors import ConfigError
from snailtrail.plan.deploy_plan import DeployPlan
from snailtrail.plan.steps import (
    BakeStep,
    BeforeDeployStep,
    BuildStep,
    CreateServiceStep,
    CriteriaStep,
    HoldStep,
    MarkStep,
    NativeUpdateStep,
    ProductionStep,
    PushStep,
    RegisterStep,
    SmokeStep,
    Step,
    TestStep,
    UpdateServiceStep,
    WaitStep,
)
from snailtrail.run.native_setup import PRODUCTION_STAGE, TEST_STAGE


def strategy_for(settings: Settings, phase: Phase, override: StrategyKind | None = None) -> StrategyConfig:
    """--strategy, else the phase's, else the environment's, else rolling."""
    strategy = phase.manifest.strategy or settings.environment.strategy or StrategyConfig()
    if override is not None:
        strategy = strategy.model_copy(update={"kind": override})
    return strategy


def deploy_steps(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The image steps, then the strategy's (rolling when there is no running revision to compare with)."""
    if plan.native:
        return image_steps(settings, plan) + native(settings, plan)
    return image_steps(settings, plan) + rolling(settings, plan)


def image_steps(settings: Settings, plan: DeployPlan) -> list[Step]:
    options, phase = plan.options, plan.phase
    steps: list[Step] = []
    if options.image is None and options.build:
        image = phase.manifest.image
        others = sorted({s.image.dockerfile for s in phase.manifest.containers if s.image and s.image.dockerfile})
        also = "".join(f", {dockerfile}" for dockerfile in others if dockerfile != image.dockerfile)
        steps.append(BuildStep(f"docker build {image.dockerfile}{also} (context {image.context})"))
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
    return steps + before_deploy(settings, plan)


def before_deploy(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The phase's before_deploy tasks, in order, with the new revision; the last records the phase's schema."""
    tasks, schema = plan.phase.manifest.before_deploy, plan.phase.manifest.schema_
    app = settings.service.container_name
    containers = [c["name"] for c in plan.rendered["containerDefinitions"]]
    for index, task in enumerate(tasks):
        if (task.container or app) not in containers:
            raise ConfigError(
                f"{plan.phase.path}: before_deploy[{index}].container: {task.container} is not a container of the "
                "phase's task definition",
                fix=f"name one of: {', '.join(containers)}",
            )
    return [
        BeforeDeployStep(
            f"run `{' '.join(redact_command(task.command))}` once in {task.container or app} of the new revision, "
            f"in the service's network; stop the deploy unless it exits 0 (timeout {task.timeout_s:.0f} s)",
            task=task.name,
            container=task.container or app,
            command=tuple(task.command),
            timeout_s=task.timeout_s,
            service_exists=not plan.creates_service,
            leaves_schema=schema.version if schema is not None and index == len(tasks) - 1 else None,
        )
        for index, task in enumerate(tasks)
    ]


def rolling(settings: Settings, plan: DeployPlan) -> list[Step]:
    """The service to the new revision by ECS's ROLLING strategy (created if missing), watched, verified, marked."""
    name = settings.service.name
    change: Step = (
        CreateServiceStep(f"create service {name} in cluster {settings.service.cluster} (it does not exist)")
        if plan.creates_service
        else UpdateServiceStep(f"update service {name} to the new revision, desired count {plan.desired.count}")
    )
    return [
        change,
        WaitStep(f"watch the rollout (timeout {plan.options.timeout_s:.0f} s)"),
        CriteriaStep(
            "success criteria through the public endpoint and target health"
            + (
                f"; gate alarms {', '.join(plan.strategy.gates.alarms)} not in ALARM"
                if plan.strategy.gates.alarms
                else ""
            ),
            alarms=bool(plan.strategy.gates.alarms),
        ),
        MarkStep("tag the revision verified"),
    ]


def native(settings: Settings, plan: DeployPlan) -> list[Step]:
    """UpdateService with ECS's strategy and snailtrail's PAUSE hooks, then a judgement at each hook."""
    strategy = plan.strategy
    gates = strategy.gates
    minute = "sandbox minute(s)" if settings.environment.minute_s != 60 else "minute(s)"
    shift = {
        StrategyKind.blue_green: "all production traffic at once",
        StrategyKind.canary: f"{strategy.canary.percent:g}% of production traffic for {strategy.canary.bake_minutes} "
        f"{minute}, then the rest",
        StrategyKind.linear: f"production traffic in steps of {strategy.linear.step_percent:g}%, each baked "
        f"{strategy.linear.step_bake_minutes} {minute}",
    }[strategy.kind]
    hooks = f"PAUSE hooks at {TEST_STAGE} and {PRODUCTION_STAGE}, timeout ROLLBACK"
    judged = (
        f"error rate +{gates.max_error_rate_increase:.0%}, latency {gates.max_latency_ratio}x the old revision's, "
        f"from {gates.min_requests} requests" + (f", alarms {', '.join(gates.alarms)}" if gates.alarms else "")
    )
    steps: list[Step] = [
        NativeUpdateStep(
            f"update service {settings.service.name} to the new revision as a {strategy.kind.ecs_strategy} "
            f"deployment ({shift}; bake {strategy.bake_minutes} {minute}; {hooks}; circuit breaker"
            + (f" and alarms {', '.join(strategy.alarms)}" if strategy.alarms else "")
            + " roll back)"
        ),
        TestStep(
            f"at {TEST_STAGE}: the success criteria through test listener :"
            f"{settings.service.load_balancer.test_listener_port} and target health, before any production traffic"
            + ("" if strategy.hold else "; CONTINUE"),
            hold=strategy.hold is not None,
        ),
    ]
    if strategy.hold is not None:
        steps.append(
            HoldStep(
                f"hold at {TEST_STAGE} for `snailtrail promote` or `snailtrail abort` (webhooks told); ECS takes "
                f"{strategy.hold.on_timeout.value} after {strategy.hold.timeout_minutes} {minute}"
            )
        )
    steps += [
        ProductionStep(
            f"while ECS shifts production traffic and at {PRODUCTION_STAGE}: the gates ({judged}) and the success "
            "criteria through the public endpoint; CONTINUE, or roll back at once",
            alarms=bool(gates.alarms),
        ),
        BakeStep("ECS's bake under the gates until the deployment is SUCCESSFUL", alarms=bool(gates.alarms)),
        MarkStep("tag the revision verified"),
    ]
    return steps
