"""snailtrail rollback"""

from __future__ import annotations

from typing import Optional

import typer

from snailtrail.commands.options import RolloutTimeout
from snailtrail.state import CliState


def register(app: typer.Typer) -> None:
    @app.command(
        help="Return the service to the last verified deployment before the current one (or --to a "
        "phase's last verified revision, or a task-definition ARN), wait and verify it. Exit 0 when "
        "the restored deployment verifies, 3 when it does not."
    )
    def rollback(
        ctx: typer.Context,
        to: Optional[str] = typer.Option(None, "--to", help="PHASE (its last verified revision) or TASKDEF_ARN."),
        timeout: RolloutTimeout = None,
        poll_interval: Optional[float] = typer.Option(None, "--poll-interval", min=0.01, hidden=True),
    ) -> None:
        from snailtrail.executor import Executor
        from snailtrail.plan import DeployOptions
        from snailtrail.rollback import choose_target
        from snailtrail.rollout_budget import rollout_timeout

        state: CliState = ctx.obj
        context = state.context()
        with context.lock.held(f"rollback{' --to ' + to if to else ''}"):
            target = choose_target(context, to)
            phase = context.phase_or_none(target.phase)
            budget = rollout_timeout(context, phase.container.health_check.grace_period_s if phase else 0, timeout)
            executor = Executor(
                context,
                DeployOptions(
                    timeout_s=budget.seconds,
                    timeout_explained=budget.explanation,
                    poll_interval_s=poll_interval or context.default_poll_interval_s,
                ),
            )
            result = executor.rollback_to(target, reason=f"requested by {'--to ' + to if to else 'operator'}")
        state.output(result.to_json(), ("✓ " if result.ok else "✗ ") + result.message)
        if result.exit_code:
            raise typer.Exit(result.exit_code)
