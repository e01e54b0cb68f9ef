"""Building a deploy's plan: what runs now, what the manifest renders, the strategy's steps.

Read-only: the plan is built under the deploy lock, before anything changes.
"""

from __future__ import annotations

from snailtrail.aws_rules import strategy_problems
from snailtrail.capacity import planned_count
from snailtrail.config import StrategyKind
from snailtrail.context import Context
from snailtrail.errors import ConfigError
from snailtrail.history import rollback_target
from snailtrail.images import sidecar_builds
from snailtrail.phases import Phase
from snailtrail.plan import DeployOptions, DeployPlan
from snailtrail.strategies import deploy_steps, strategy_for
from snailtrail.taskdef import render

IMAGE_PLACEHOLDER = "<built and pushed by this deploy>"


def build_plan(ctx: Context, phase: Phase, options: DeployOptions) -> DeployPlan:
    settings = ctx.settings
    strategy = strategy_for(settings, phase, options.strategy)
    service = ctx.colours.live_service
    live_definition = None
    if service is not None and service.get("taskDefinition"):
        live_definition = ctx.history.get(service["taskDefinition"]).definition
    own_builds = sorted(name for name, owner in sidecar_builds(phase).items() if owner is not None)
    if options.image and own_builds:
        raise ConfigError(
            f"--image gives the app's image, but {phase.name} builds the image of {', '.join(own_builds)} "
            "from its own Dockerfile",
            fix=f"deploy {phase.name} without --image, or give those containers an image reference "
            f"in {phase.path.name}",
        )
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
    plan.steps = deploy_steps(settings, plan)
    return plan
