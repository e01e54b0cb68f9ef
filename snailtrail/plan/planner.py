"""Building a deploy's plan: what runs now, what the manifest renders, the strategy's steps.

Read-only: the plan is built under the deploy lock, before anything changes.
"""

from __future__ import annotations

from snailtrail.config.aws_rules import strategy_problems
from snailtrail.config.phases import Phase
from snailtrail.context import Context
from snailtrail.errors import ConfigError
from snailtrail.plan.capacity import planned_count
from snailtrail.plan.deploy_plan import DeployOptions, DeployPlan
from snailtrail.plan.strategies import deploy_steps, strategy_for
from snailtrail.plan.taskdef import Revision, render
from snailtrail.run.images import sidecar_builds
from snailtrail.run.native_setup import refuse_foreign_controller, resolve_native_setup
from snailtrail.state.history import rollback_target
from snailtrail.state.schema import incompatibility, schema_range

IMAGE_PLACEHOLDER = "<built and pushed by this deploy>"


def build_plan(ctx: Context, phase: Phase, options: DeployOptions) -> DeployPlan:
    settings = ctx.settings
    strategy = strategy_for(settings, phase, options.strategy)
    service = ctx.live_service
    refuse_foreign_controller(settings.service.name, service)
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
        settings.service.name,
        phase,
        settings.environment_name,
        options,
        rendered,
        service,
        live_definition,
        identical,
        rollback_target(ctx, identical.arn if identical else None),
        strategy,
        planned_count(ctx, phase.container.desired_count, service, options.desired_count),
    )
    migrated_past = schema_hazard(phase, plan.rollback_target)
    if migrated_past:
        ctx.reporter.warn(migrated_past)
    if plan.native and not options.rollback:
        raise ConfigError(
            f"--no-rollback does not apply to a {strategy.kind.value} deploy: a failed gate always has ECS return "
            "the traffic to the old revision",
            fix="drop --no-rollback, or deploy with --strategy rolling --no-rollback",
        )
    if plan.native:
        # Before anything changes: the rules, groups and role ECS needs, or exit 2 naming what is missing.
        plan.native_setup = resolve_native_setup(ctx)
        # An aws environment's were refused before any call (aws_rules); the sandbox's are only told.
        for problem in strategy_problems(ctx.settings, strategy, "strategy"):
            ctx.reporter.warn(f"{problem.field}: {problem.message} (fix: {problem.fix})")
    if strategy.native and not plan.native:
        ctx.reporter.warn(
            f"{strategy.kind.value}: no revision takes traffic yet, so there is nothing to compare with or fall "
            f"back to; this first deploy is rolling, onto {settings.service.name}"
        )
    plan.steps = deploy_steps(settings, plan)
    return plan


def schema_hazard(phase: Phase, target: Revision | None) -> str | None:
    """What the phase's migrations would cost a failed deploy: a rollback target older than their schema."""
    declared = phase.manifest.schema_
    if declared is None or target is None:
        return None
    if incompatibility(target.tags, declared.version) is None:
        return None
    return (
        f"after {phase.name}'s migrations (schema {declared.version}), a failed deploy cannot roll back to "
        f"{target.arn.rsplit('/', 1)[-1]}, which runs against schema {schema_range(target.tags)}: it would need a "
        "forward fix or a down-migration (docs/operations.md, migrations and rollback)"
    )
