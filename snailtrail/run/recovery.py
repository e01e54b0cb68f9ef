"""When a deploy fails, is interrupted or aborted: back to what verified, once, the same way every time.

- A rolling deploy that changed the service rolls back to the last verified revision
  (snailtrail/run/rollback_run.py); one that changed nothing leaves everything as it was.
- A native deployment (blue-green, canary, linear) is rolled back by ECS (``roll_back_native``):
  ContinueServiceDeployment ROLLBACK on a hook that waits, else StopServiceDeployment ROLLBACK, followed
  until production traffic is on the old revision. `snailtrail abort` asks ECS the same way. A rollback
  ECS already made by itself (circuit breaker, alarms, a hook's timeout) is written as ECS's.

The exit code follows from what is recorded on the result (snailtrail/run/run_result.py).
"""

from __future__ import annotations

from snailtrail.context import Context
from snailtrail.errors import SnailtrailError, operator_error
from snailtrail.plan.deploy_plan import DeployPlan
from snailtrail.plan.steps import GateFailed
from snailtrail.run.native_deploy import EcsRolledBack, NativeDeployment
from snailtrail.run.rollback_choice import no_target
from snailtrail.run.rollback_run import rollback_to
from snailtrail.run.run_result import RunResult
from snailtrail.run.service_ops import ServiceOps
from snailtrail.state.history import rollback_choice


# -- a deploy that did not verify -------------------------------------------------------------
def after_failure(
    ctx: Context,
    ops: ServiceOps,
    plan: DeployPlan,
    result: RunResult,
    failure: SnailtrailError,
    service_touched: bool,
    deployment: NativeDeployment | None,
) -> None:
    """A step failed: roll the native deployment back through ECS (one in flight), else roll back what was
    changed. A second interrupt stops the way back at once, and the trail says where it stopped."""
    result.message, result.fix = failure.message, failure.fix
    try:
        if deployment is not None:
            ops.run.emit("deploy.failed", plan.phase.name, result.message, ok=False, data={"fix": result.fix})
            last_step = result.steps[-1].name if result.steps else "deploy"
            gate = failure.gate if isinstance(failure, GateFailed) else f"{last_step} step"
            roll_back_native(ops, plan, result, deployment, gate, failure)
        else:
            ops.run.emit(
                "deploy.failed",
                plan.phase.name,
                result.message,
                ok=False,
                task_definition=result.task_definition,
                data={"fix": result.fix},
            )
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
    deployment: NativeDeployment | None,
    step: str,
) -> None:
    """Stop waiting (written as interrupted, with the step it stopped in, not as failed); a native deployment
    rolled back through ECS, or a service already changed and not verified back to the last verified
    deployment (a second interrupt stops that at once)."""
    result.interrupted = True
    phase = plan.phase.name
    if deployment is not None:
        state = f"interrupted in the {step} step: ECS rolls the service deployment back"
        ops.run.emit(
            "deploy.interrupted",
            phase,
            state,
            ok=False,
            task_definition=result.task_definition,
            data={"step": step, "service_deployment": deployment.arn},
        )
        result.message = state
        ctx.reporter.warn(state)
        roll_back_native(ops, plan, result, deployment, "interrupt", SnailtrailError(f"interrupted in {step}"))
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
    state = f"{state} (in the {step} step)"
    rolling_back = service_touched and plan.options.rollback
    ops.run.emit(
        "deploy.interrupted", phase, state, ok=False, task_definition=result.task_definition, data={"step": step}
    )
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


def roll_back_native(
    ops: ServiceOps,
    plan: DeployPlan,
    result: RunResult,
    deployment: NativeDeployment,
    gate: str,
    failure: SnailtrailError,
) -> None:
    """The native deployment decided against: rolled back by ECS at once (or already, by ECS itself)."""
    phase = plan.phase.name
    by_ecs = isinstance(failure, EcsRolledBack)
    ops.run.emit(
        "ecs.rolled-back" if by_ecs else "rollout.aborted",
        phase,
        f"{gate}: {failure.message}",
        ok=False,
        task_definition=result.task_definition,
        data={"gate": gate, "service_deployment": deployment.arn, "stage": deployment.stage},
    )
    try:
        done = deployment.roll_back(gate, failure.message) if deployment.arn else "no service deployment started"
    except Exception as raw:  # noqa: BLE001 - the operator must learn the rollback is incomplete
        result.needs_human = True
        result.message += f"; the rollback did not complete: {operator_error(raw).message}"
        result.fix = "`snailtrail status` shows the service deployment; `snailtrail abort` asks ECS again"
        ops.run.emit("rollout.abort-failed", phase, result.message, ok=False)
        return
    result.rolled_back, result.rolled_back_to = True, (plan.service or {}).get("taskDefinition")
    result.message += f"; {'ECS rolled back' if by_ecs else f'rolled back ({gate})'}: {done}"


def _roll_back(ctx: Context, ops: ServiceOps, plan: DeployPlan, result: RunResult, service_touched: bool) -> None:
    """Back to the last verified revision, after a failure (``deploy.failed``, written by the caller) or an
    interrupt (``deploy.interrupted``: an interrupted deploy is not written as a failed one)."""
    phase = plan.phase.name
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
