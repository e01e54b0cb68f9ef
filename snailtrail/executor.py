"""Run a deploy plan's steps, in order, each written to the trail; on failure hand over to recovery.

The executor dispatches on each step's type (snailtrail/steps.py): the objects it runs are the ones
``plan`` printed. Services change through the service layer (snailtrail/service_ops.py), traffic
through the rollout's TrafficShift (snailtrail/traffic_shift.py), and what happens after a failure
or an interrupt is snailtrail/recovery.py's.
"""

from __future__ import annotations

import time

from snailtrail import image_steps, steps
from snailtrail.context import Context
from snailtrail.errors import SnailtrailError
from snailtrail.image_steps import Artifacts
from snailtrail.plan import DeployOptions, DeployPlan
from snailtrail.recovery import RolloutRecord, after_failure, after_interrupt
from snailtrail.run_result import RunResult, run_step
from snailtrail.run_trail import RunTrail
from snailtrail.service_ops import ServiceOps
from snailtrail.steps import Step
from snailtrail.success_criteria import judge_criteria, mark_verified
from snailtrail.traffic_shift import TrafficShift


class Executor:
    def __init__(self, ctx: Context, options: DeployOptions, run_id: str | None = None) -> None:
        self.ctx = ctx
        self.ops = ServiceOps(ctx, RunTrail(ctx.trail, run_id or ctx.trail.new_run_id()), options)
        self.run = self.ops.run

    def deploy(self, plan: DeployPlan) -> RunResult:
        phase = plan.phase
        started = time.monotonic()
        result = RunResult(
            False,
            phase.name,
            plan.environment,
            previous_task_definition=plan.service.get("taskDefinition") if plan.service else None,
        )
        self.run.emit(
            "deploy.started",
            phase.name,
            f"deploy {phase.name} to {plan.environment}",
            data={"steps": [s.name for s in plan.steps]},
        )
        if plan.service is not None:
            self.ops.note_events(plan.service)
        run = DeployRun(self.ctx, self.ops, plan, result)
        try:
            for step in plan.steps:
                run_step(self.ctx.reporter, self.run, result, step.name, step.summary, lambda s=step: run.perform(s))
        except SnailtrailError as failure:
            # The way back first: the webhooks hear of the failure once it is done.
            with self.ctx.trail.observers_held():
                after_failure(self.ctx, self.ops, plan, result, failure, run.service_touched, run.rollout_in_flight())
        except KeyboardInterrupt:
            with self.ctx.trail.observers_held():
                after_interrupt(self.ctx, self.ops, plan, result, run.service_touched, run.rollout_in_flight())
        else:
            # No event of its own: deploy.finished with ok says the phase verified (report.phase_states).
            result.ok = True
            result.message = f"{phase.name} deployed and verified: {result.task_definition}"
        result.duration_s = time.monotonic() - started
        self.run.emit(
            "deploy.finished",
            phase.name,
            result.message,
            ok=result.ok,
            duration_s=round(result.duration_s, 3),
            task_definition=result.task_definition,
            data={"exit_code": result.exit_code, "rolled_back_to": result.rolled_back_to},
        )
        return result


class DeployRun:
    """One deploy's steps as they run: what they produced, and what a failure has to undo."""

    def __init__(self, ctx: Context, ops: ServiceOps, plan: DeployPlan, result: RunResult) -> None:
        self.ctx = ctx
        self.ops = ops
        self.plan = plan
        self.result = result
        self.artifacts = Artifacts(image=plan.options.image or "")
        self.service_touched = False
        # Before any step changes anything: a listener that cannot carry the rollout is refused (exit 2).
        self.shift = TrafficShift(ctx, ops, plan) if plan.progressive else None
        self.colour = self.shift.new if self.shift else ctx.colours.live  # the colour the new revision runs as

    def rollout_in_flight(self) -> RolloutRecord | None:
        """The rollout to abort, once its start recorded it in flight."""
        return self.shift.record() if self.shift is not None and self.shift.began else None

    def perform(self, step: Step) -> str:
        """Do what the step says: the one dispatch, on the step's type."""
        ctx, ops, plan, result, phase = self.ctx, self.ops, self.plan, self.result, self.plan.phase
        arn = result.task_definition or ""
        match step:
            case steps.BuildStep():
                return image_steps.build(ctx, phase, self.artifacts, plan.options.build_args)
            case steps.SmokeStep():
                return image_steps.smoke(ctx, phase, self.artifacts)
            case steps.PushStep():
                return image_steps.push(ctx, phase, self.artifacts)
            case steps.RegisterStep():
                result.task_definition, done = image_steps.register(
                    ctx, phase, self.artifacts, result.previous_task_definition
                )
                return done
            case steps.CreateServiceStep():
                self.service_touched = True
                return ops.create(arn, phase, desired=plan.desired.count)
            case steps.UpdateServiceStep():
                self.service_touched = True
                return ops.update(arn, plan.desired.count, phase)
            case steps.StartColourStep():
                return self._shift().start(phase, arn)
            case steps.WaitStep():
                return ops.wait(arn, phase.name, step.service)
            case steps.TestColourStep():
                return self._shift().test(phase, arn, result.checks)
            case steps.ShiftStep():
                return self._shift().shift(step)
            case steps.CriteriaStep():
                return judge_criteria(ctx, phase, arn, ops.new_tasks, result.checks, self.colour)
            case steps.MarkStep():
                return mark_verified(ctx, arn)
            case steps.RetireStep():
                return self._shift().retire()
        raise TypeError(f"no action for a {type(step).__name__}")

    def _shift(self) -> TrafficShift:
        assert self.shift is not None, "a rollout step in a plan that is not progressive"
        return self.shift
