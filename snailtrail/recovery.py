"""When a deploy fails, is interrupted or aborted: back to what verified, once, the same way every time.

- A rolling deploy that changed the service rolls back to the last verified revision
  (snailtrail/rollback_run.py); one that changed nothing leaves everything as it was.
- A blue-green or canary rollout restores the old colour (``restore_old_colour``): the production
  listener's actions back as the rollout found them, ``traffic.restored``, the new colour scaled to 0
  and the in-flight record ended. `snailtrail abort` runs the same routine from another terminal.

The exit code follows from what is recorded on the result (snailtrail/run_result.py).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any

from snailtrail.context import Context
from snailtrail.errors import SnailtrailError, operator_error
from snailtrail.history import rollback_choice
from snailtrail.plan import DeployPlan
from snailtrail.rollback_choice import no_target
from snailtrail.rollback_run import rollback_to
from snailtrail.run_result import RunResult
from snailtrail.run_trail import RunTrail
from snailtrail.service_ops import ServiceOps, lock_lost
from snailtrail.steps import GateFailed


@dataclass(frozen=True)
class RolloutRecord:
    """What restoring the old colour needs, as the in-flight record keeps it."""

    run_id: str
    phase: str | None
    old_service: str
    new_service: str
    listener: str  # the production listener's (or rule's) ARN
    restore_actions: list[dict[str, Any]]  # its actions as the rollout found them
    weight: int | None = None  # the new colour's share of the traffic when the abort was decided, if known

    def to_inflight(self) -> dict[str, str]:
        """The in-flight record's fields (snailtrail/inflight.py) that ``from_inflight`` reads back."""
        return {
            "run_id": self.run_id,
            "phase": self.phase or "",
            "old_service": self.old_service,
            "new_service": self.new_service,
            "listener": self.listener,
            "restore_actions": json.dumps(self.restore_actions),
        }

    @classmethod
    def from_inflight(cls, record: dict[str, str]) -> RolloutRecord:
        if "restore_actions" in record:
            actions = json.loads(record["restore_actions"])
        else:  # recorded by a snailtrail that kept none: its rollouts ran on a listener with one plain forward
            groups = [
                {"TargetGroupArn": record["old_target_group"], "Weight": 100},
                {"TargetGroupArn": record["new_target_group"], "Weight": 0},
            ]
            actions = [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]
        return cls(
            record["run_id"],
            record.get("phase"),
            record["old_service"],
            record["new_service"],
            record["listener"],
            actions,
        )


def restore_traffic(
    ctx: Context, rollout: RolloutRecord, cause: str, gate: str, reason: str, announce: bool = True
) -> float:
    """The listener back as found, in one call, and (``announce``) ``traffic.restored``: the seconds it took."""
    started = time.monotonic()
    # Always, whatever the run believes the weights are: a ModifyListener whose answer was lost, or an
    # earlier run's leftover weight, must not leave users on the new colour. No lock check: returning
    # traffic to the old colour is always safe to do.
    ctx.elbv2.set_actions(rollout.listener, rollout.restore_actions)
    switched_s = time.monotonic() - started
    if not announce:
        return switched_s
    RunTrail(ctx.trail, rollout.run_id).emit(
        "traffic.restored",
        rollout.phase,
        f"{cause}: 100% of traffic on {rollout.old_service} (the listener update took {switched_s:.2f} s)",
        ok=True,
        duration_s=round(switched_s, 3),
        data={"gate": gate, "reason": reason},
    )
    return switched_s


def retire_new_colour(ctx: Context, rollout: RolloutRecord) -> bool:
    """The new colour scaled to 0 and the rollout ended; False when the new colour was never created."""
    if lock_lost(ctx):
        raise SnailtrailError(
            f"the deploy lock was lost: {rollout.new_service} was left running for whoever holds it now",
            fix="`snailtrail status`; scale it down by hand if no other deploy is running",
        )
    scaled = ctx.ecs.scale_to_zero(rollout.new_service)
    ctx.inflight.end(rollout.run_id)
    return scaled


def restore_old_colour(
    ctx: Context, rollout: RolloutRecord, cause: str, gate: str, reason: str, announce: bool = True
) -> list[str]:
    """All traffic back on the old colour, then the new colour to zero and the rollout closed: what was done."""
    switched_s = restore_traffic(ctx, rollout, cause, gate, reason, announce)
    done = [f"traffic back on {rollout.old_service} in {switched_s:.2f} s"]
    if retire_new_colour(ctx, rollout):
        done.append(f"{rollout.new_service} scaled to 0")
    return done


# -- a deploy that did not verify -------------------------------------------------------------
def after_failure(
    ctx: Context,
    ops: ServiceOps,
    plan: DeployPlan,
    result: RunResult,
    failure: SnailtrailError,
    service_touched: bool,
    rollout: RolloutRecord | None,
) -> None:
    """A step failed: restore the old colour (a rollout in flight), else roll back what was changed.
    A second interrupt stops the way back at once, and the trail says where it stopped."""
    result.message, result.fix = failure.message, failure.fix
    try:
        if rollout is not None:
            ops.run.emit("deploy.failed", plan.phase.name, result.message, ok=False, data={"fix": result.fix})
            last_step = result.steps[-1].name if result.steps else "deploy"
            gate = failure.gate if isinstance(failure, GateFailed) else f"{last_step} step"
            abort_own_rollout(ctx, ops, plan, result, rollout, gate, failure.message)
        else:
            _roll_back(ctx, ops, plan, result, service_touched)
    except KeyboardInterrupt:
        ops.run.emit(
            "rollback.interrupted",
            plan.phase.name,
            "interrupted during the rollback: the service may be on an unverified revision; `snailtrail rollback` "
            "finishes it",
            ok=False,
            task_definition=result.task_definition,
        )
        raise


def after_interrupt(
    ctx: Context,
    ops: ServiceOps,
    plan: DeployPlan,
    result: RunResult,
    service_touched: bool,
    rollout: RolloutRecord | None,
) -> None:
    """Stop waiting; traffic back on the old colour (a rollout in flight), or a service already changed
    and not verified back to the last verified deployment (a second interrupt stops that at once)."""
    result.interrupted = True
    phase = plan.phase.name
    if rollout is not None:
        result.message = "interrupted: aborting the rollout"
        ctx.reporter.warn("interrupted: traffic goes back to the old colour")
        abort_own_rollout(ctx, ops, plan, result, rollout, "interrupt", "the deploy was interrupted")
        return
    if not service_touched:
        state = "interrupted before the service was changed: nothing to undo"
    elif not plan.options.rollback:
        state = (
            f"interrupted with the service on unverified {result.task_definition} (--no-rollback); "
            "`snailtrail rollback` returns it to the last verified deployment"
        )
    else:
        state = f"interrupted with the service on unverified {result.task_definition}: rolling back"
    rolling_back = service_touched and plan.options.rollback
    ops.run.emit("deploy.interrupted", phase, state, ok=False, task_definition=result.task_definition)
    ctx.reporter.warn(state + (" (interrupt again to stop at once)" if rolling_back else ""))
    result.message, result.fix = state, "snailtrail status shows what runs; snailtrail rollback recovers"
    if not rolling_back:
        return
    try:
        _roll_back(ctx, ops, plan, result, service_touched)
    except KeyboardInterrupt:
        ops.run.emit(
            "rollback.interrupted",
            phase,
            "second interrupt: the rollback was abandoned; `snailtrail rollback` finishes it",
            ok=False,
            task_definition=result.task_definition,
        )
        raise


def abort_own_rollout(
    ctx: Context,
    ops: ServiceOps,
    plan: DeployPlan,
    result: RunResult,
    rollout: RolloutRecord,
    gate: str,
    reason: str,
) -> None:
    """This deploy's rollout decided against the new colour (a gate, a failed step, an interrupt, or an
    operator's `snailtrail abort`, which restored the traffic already)."""
    phase = plan.phase.name
    ops.run.emit(
        "rollout.aborted",
        phase,
        f"{gate}: {reason}",
        ok=False,
        task_definition=result.task_definition,
        data={"gate": gate, "weight": rollout.weight},
    )
    try:
        # `snailtrail abort` moved the traffic itself and said so; moved again all the same.
        done = restore_old_colour(ctx, rollout, gate, gate, reason, announce=gate != "operator")
    except Exception as raw:  # noqa: BLE001 - the operator must learn the abort is incomplete
        result.needs_human = True
        result.message += f"; the abort did not complete: {operator_error(raw).message}"
        result.fix = "run `snailtrail abort` again; `snailtrail status` shows where traffic goes"
        ops.run.emit("rollout.abort-failed", phase, result.message, ok=False)
        return
    result.rolled_back, result.rolled_back_to = True, (plan.colours.live_service or {}).get("taskDefinition")
    result.message += f"; aborted ({gate}): " + ", ".join(done)


def _roll_back(ctx: Context, ops: ServiceOps, plan: DeployPlan, result: RunResult, service_touched: bool) -> None:
    phase = plan.phase.name
    ops.run.emit(
        "deploy.failed",
        phase,
        result.message,
        ok=False,
        task_definition=result.task_definition,
        data={"fix": result.fix},
    )
    if not service_touched:
        result.message += " (the service was not changed)"
        return
    if not plan.options.rollback:
        result.message += f" (--no-rollback: the service stays on unverified {result.task_definition})"
        return
    try:
        # What ran before this deploy, if verified, else the verified revision live before that.
        choice = rollback_choice(ctx, result.task_definition, describe_all=False)
        target = ctx.history.get(choice.default.arn) if choice.default else None
    except Exception as raw:  # noqa: BLE001 - whatever the cause, the service needs a human
        result.needs_human = True
        result.message += f"; the rollback target could not be found: {operator_error(raw).message}"
        result.fix = "the service runs an unverified revision: `snailtrail status`, then `snailtrail rollback`"
        ops.run.emit("rollback.impossible", phase, result.message, ok=False, task_definition=result.task_definition)
        return
    if target is None:
        result.needs_human = True
        refused = no_target(choice)
        if choice.blocked_by_schema:  # this deploy's own migrations may have left them behind
            result.message += f"; {refused.message}: the service runs unverified {result.task_definition}"
            result.fix = refused.fix
        else:
            result.message += (
                f"; no verified deployment exists to roll back to: the service runs unverified {result.task_definition}"
            )
            result.fix = "fix the cause above and deploy again, or scale the service to 0"
        ops.run.emit("rollback.impossible", phase, result.message, ok=False, task_definition=result.task_definition)
        return
    rollback = rollback_to(
        ctx, ops, target, plan.options.desired_count, result_for=result, reason=f"the deploy of {phase} failed"
    )
    result.rolled_back, result.rolled_back_to = True, target.arn
    result.checks.extend(rollback.checks)
    result.needs_human = not rollback.ok
    if rollback.ok:
        result.message += f"; rolled back to verified {target.arn} ({target.phase}), which verifies"
    else:
        result.message += f"; the rollback to {target.arn} failed too: {rollback.message}"
        result.fix = "the service needs a human now: `snailtrail status` shows what runs"
