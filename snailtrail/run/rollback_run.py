"""Rolling back: the live service to a verified revision, waited for and verified with its phase's criteria.

Run by `snailtrail rollback`, by a failed or interrupted rolling deploy (snailtrail/run/recovery.py) and by
the sandbox's heal. What to roll back to is chosen by snailtrail/run/rollback_choice.py and history.py.
"""

from __future__ import annotations

import time

from snailtrail.context import Context
from snailtrail.errors import SnailtrailError, operator_error
from snailtrail.plan.capacity import planned_count
from snailtrail.plan.steps import StepFailed
from snailtrail.plan.taskdef import Revision
from snailtrail.run.run_result import RunResult, StepRecord, run_step
from snailtrail.run.service_ops import ServiceOps
from snailtrail.run.success_criteria import judge_criteria, mark_verified


def rollback_to(
    ctx: Context,
    ops: ServiceOps,
    target: Revision,
    desired_count: int | None = None,
    result_for: RunResult | None = None,
    reason: str = "",
) -> RunResult:
    """Update the service to a verified revision, wait, and verify it with its own phase's criteria.

    ``desired_count`` is --desired-count; ``result_for`` is the failed deploy's result."""
    started = time.monotonic()
    phase = ctx.phase_or_none(target.phase)
    phase_name = target.phase
    try:
        service = ctx.refresh_live_service()
    except Exception as raw:  # noqa: BLE001 - reported as the rollback failing, never escaping it
        service, describe_error = None, operator_error(raw)
    else:
        describe_error = None
        if service is not None:
            ops.note_events(service)
    result = RunResult(
        False,
        phase_name,
        ctx.settings.environment_name,
        task_definition=target.arn,
        previous_task_definition=service.get("taskDefinition") if service else None,
        rolled_back=True,
        rolled_back_to=target.arn,
    )
    ops.run.emit("rollback.started", phase_name, f"rolling back to {target.arn}: {reason}", task_definition=target.arn)
    ctx.reporter.heading(f"Rolling back to verified {target.arn} ({phase_name})")
    steps_before = len(result_for.steps) if result_for else 0
    try:
        if describe_error is not None:
            raise describe_error
        if service is None:
            raise StepFailed(
                f"service {ctx.settings.service.name} does not exist; nothing to roll back",
                fix="deploy a phase to create it",
            )
        live_count = service.get("desiredCount", 1)
        desired = planned_count(ctx, phase.container.desired_count if phase else live_count, service, desired_count)
        run_step(
            ctx.reporter,
            ops.run,
            result,
            "update",
            f"update the service to {target.arn}, desired count {desired.count} ({desired.reason})",
            lambda: ops.update(target.arn, desired.count, phase),
        )
        run_step(ctx.reporter, ops.run, result, "wait", "watch the rollback", lambda: ops.wait(target.arn, phase_name))
        if phase is None:
            raise StepFailed(
                f"the manifest of {phase_name} is gone; the rollback cannot be verified",
                fix=f"restore phases/{phase_name}-*.yaml",
            )
        run_step(
            ctx.reporter,
            ops.run,
            result,
            "verify",
            "success criteria of the restored phase",
            lambda: judge_criteria(ctx, phase, target.arn, ops.new_tasks, result.checks),
        )
    except SnailtrailError as failure:
        result.message, result.fix, result.needs_human = failure.message, failure.fix, True
    else:
        result.ok = True
        result.message = f"rolled back to {target.arn} ({phase_name}) and verified"
        # Proven good again, now: the next rollback's "last verified" is what runs, not what was
        # verified last before this rollback. The rollback stands even if the tag cannot be written.
        try:
            mark_verified(ctx, target.arn)
        except Exception as raw:  # noqa: BLE001 - a missing tag must not undo a verified rollback
            ctx.reporter.warn(f"could not re-tag {target.arn} verified: {operator_error(raw).message}")
    result.duration_s = time.monotonic() - started
    ops.run.emit(
        "rollback.finished",
        phase_name,
        result.message,
        ok=result.ok,
        task_definition=target.arn,
        duration_s=round(result.duration_s, 3),
    )
    if result_for is not None:
        result_for.steps.extend(
            StepRecord(f"rollback-{s.name}", s.ok, s.duration_s, s.detail) for s in result.steps[steps_before:]
        )
    return result
