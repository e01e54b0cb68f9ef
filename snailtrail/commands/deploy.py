"""snailtrail deploy PHASE"""

from __future__ import annotations

from typing import Optional

import typer

from snailtrail.commands.options import BuildArgs, DesiredCount, RolloutTimeout
from snailtrail.global_options import GlobalOptions


def deploy(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="phase-N, a unique prefix, or its short name (simple, hybrid ...)."),
    image: Optional[str] = typer.Option(None, "--image", help="Deploy this image URI; skips build and push."),
    build_arg: BuildArgs = None,
    no_build: bool = typer.Option(
        False, "--no-build", help="Push the image built earlier for this phase and revision instead of building it."
    ),
    skip_smoke: bool = typer.Option(
        False,
        "--skip-smoke",
        help="Do not run the image locally before deploying "
        "(the rollout and success criteria still guard the service).",
    ),
    timeout: RolloutTimeout = None,
    no_rollback: bool = typer.Option(False, "--no-rollback", help="On failure leave the service as it is."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Print the plan and diffs; change nothing."),
    yes: bool = typer.Option(
        False, "--yes", "-y", help="Agree to destructive or creating actions (creating a missing service)."
    ),
    strategy: Optional[str] = typer.Option(
        None,
        "--strategy",
        help="rolling, blue-green, canary or linear; overrides the phase's and the environment's strategy "
        "(blue-green, canary and linear need service.load_balancer.alternate_target_group and test_listener_port).",
        show_default=False,
    ),
    desired_count: DesiredCount = None,
    poll_interval: Optional[float] = typer.Option(None, "--poll-interval", min=0.01, hidden=True),
) -> None:
    """Build, smoke-test, push and deploy a phase, wait for the rollout, verify its success criteria, and mark it
    verified. On any failure after the service changed, roll back to the last verified deployment and verify that.
    With --strategy blue-green, canary or linear it is a native ECS service deployment of the one service: ECS moves
    the traffic, snailtrail judges at its PAUSE hooks, and a failed gate has ECS roll back at once.

    Exit codes: 0 deployed and verified; 1 failed and rolled back (the previous deployment verifies); 2
    configuration error, nothing changed; 3 the rollback failed or nothing verified exists; 4 another deploy holds
    the lock.
    """
    from snailtrail.commands.plan import render_plan
    from snailtrail.config.strategy_config import StrategyKind
    from snailtrail.errors import ConfigError
    from snailtrail.plan.deploy_plan import DeployOptions
    from snailtrail.plan.planner import build_plan
    from snailtrail.plan.rollout_budget import rollout_timeout
    from snailtrail.run.executor import Executor
    from snailtrail.run.images import parse_build_args

    state: GlobalOptions = ctx.obj
    known = [k.value for k in StrategyKind]
    if strategy is not None and strategy not in known:
        raise ConfigError(f"--strategy {strategy} is not a strategy", fix=f"use one of: {', '.join(known)}")
    # The configuration, the phases and every argument are valid before anything starts or any AWS call.
    context = state.context(needs_aws=False)
    selected = context.phase(phase)
    extra_build_args = parse_build_args(build_arg, context.settings, selected)
    if dry_run:
        context.require_aws()  # the same as `plan`: reads what runs, starts nothing
    else:
        state.start_sandbox(f"deploy {selected.name}")
    budget = rollout_timeout(context, selected.container.health_check.grace_period_s, timeout)
    options = DeployOptions(
        image=image,
        build=not no_build,
        build_args=extra_build_args,
        smoke=not skip_smoke,
        timeout_s=budget.seconds,
        timeout_explained=budget.explanation,
        rollback=not no_rollback,
        create=yes,
        poll_interval_s=poll_interval or context.default_poll_interval_s,
        strategy=StrategyKind(strategy) if strategy else None,
        desired_count=desired_count,
    )
    if dry_run:
        deploy_plan = build_plan(context, selected, options)
        state.output(deploy_plan.to_json() | {"dry_run": True}, render_plan(deploy_plan))
        return
    # Planned under the lock: what the plan read cannot change under it.
    with context.holding_lock(f"deploy {selected.name}"):
        deploy_plan = build_plan(context, selected, options)
        deploy_plan.require_consent(context.settings)
        context.reporter.heading(
            f"Deploying {selected.name} ({selected.short_name}) to {context.settings.environment_name}"
        )
        result = Executor(context, options).deploy(deploy_plan)
    human = (
        ("✓ " if result.ok else "✗ ")
        + result.message
        + (f"\nfix: {result.fix}" if result.fix and not result.ok else "")
    )
    state.output(result.to_json(), human)
    if result.exit_code:
        raise typer.Exit(result.exit_code)
