"""Run a deploy plan's steps, in order, each written to the trail; on failure hand over to recovery.

The executor dispatches on each step's type (snailtrail/plan/steps.py): the objects it runs are the ones
``plan`` printed. The service changes through the service layer (snailtrail/run/service_ops.py); a native
deployment is followed and judged by snailtrail/run/native_deploy.py; what happens after a failure or an
interrupt is snailtrail/run/recovery.py's.
"""

from __future__ import annotations

import time

from snailtrail.aws.cloudwatch import alarms_in_alarm
from snailtrail.checks.gates import alarm_gate
from snailtrail.context import Context
from snailtrail.errors import SnailtrailError
from snailtrail.plan import steps
from snailtrail.plan.deploy_plan import DeployOptions, DeployPlan
from snailtrail.plan.steps import GateFailed, Step
from snailtrail.run import image_steps
from snailtrail.run.image_steps import Artifacts
from snailtrail.run.native_deploy import NativeDeployment
from snailtrail.run.native_setup import deployment_configuration
from snailtrail.run.one_off import before_deploy
from snailtrail.run.recovery import after_failure, after_interrupt
from snailtrail.run.run_result import RunResult, run_step
from snailtrail.run.service_ops import ServiceOps
from snailtrail.run.success_criteria import judge_criteria, mark_verified
from snailtrail.state.run_trail import RunTrail
from snailtrail.state.schema import current_schema, record_schema


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
                after_failure(self.ctx, self.ops, plan, result, failure, run.service_touched, run.in_flight())
        except KeyboardInterrupt:
            step = run.current.name if run.current else "deploy"
            with self.ctx.trail.observers_held():
                after_interrupt(self.ctx, self.ops, plan, result, run.service_touched, run.in_flight(), step)
        else:
            # No event of its own: deploy.finished with ok says the phase verified (report.phase_states).
            result.ok = True
            result.message = f"{phase.name} deployed and verified: {result.task_definition}"
            declared = phase.manifest.schema_
            if declared is not None and not phase.manifest.before_deploy:
                by = f"{phase.name} verified live; it runs no before_deploy tasks, so its migrations are its own"
                record_schema(self.run, phase.name, declared.version, by)
        result.duration_s = time.monotonic() - started
        # The schema this deploy left, for a phase that declares one (its before_deploy tasks may have
        # migrated the database even though the deploy then failed and rolled back).
        schema = {"schema": current_schema(self.ctx.trail.events())} if phase.manifest.schema_ else {}
        self.run.emit(
            "deploy.finished",
            phase.name,
            result.message,
            ok=result.ok,
            duration_s=round(result.duration_s, 3),
            task_definition=result.task_definition,
            data={"exit_code": result.exit_code, "rolled_back_to": result.rolled_back_to} | schema,
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
        self.current: Step | None = None  # the step running now (an interrupt names it)
        self.deployment = (
            NativeDeployment(
                ctx, ops.run, plan.phase, plan.native_setup, plan.strategy, ops.poll_interval_s, ops.timeout_s
            )
            if plan.native_setup is not None
            else None
        )

    def in_flight(self) -> NativeDeployment | None:
        """The native deployment to roll back, once this run's UpdateService started it."""
        return self.deployment if self.deployment is not None and self.service_touched else None

    def perform(self, step: Step) -> str:
        """Do what the step says: the one dispatch, on the step's type."""
        self.current = step
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
            case steps.BeforeDeployStep():
                return before_deploy(ctx, ops.run, phase.name, ctx.history.get(arn), step, plan.options.poll_interval_s)
            case steps.CreateServiceStep():
                self.service_touched = True
                return ops.create(arn, phase, desired=plan.desired.count, alarms=list(plan.strategy.alarms))
            case steps.UpdateServiceStep():
                self.service_touched = True
                return ops.update(arn, plan.desired.count, phase, list(plan.strategy.alarms))
            case steps.WaitStep():
                return ops.wait(arn, phase.name)
            case steps.NativeUpdateStep():
                self.service_touched = True
                setup = self._native().setup
                native = {
                    "deploymentConfiguration": deployment_configuration(plan.strategy),
                    "loadBalancers": setup.load_balancers(ctx.settings.service.container_name, phase.container.port),
                }
                return ops.update_native(arn, plan.desired.count, phase, native)
            case steps.TestStep():
                return self._native().test(lambda group: self._criteria(group, ctx.test_url()), step.hold)
            case steps.HoldStep():
                return self._native().hold()
            case steps.ProductionStep():
                return self._native().production(lambda group: self._criteria(group, None))
            case steps.BakeStep():
                return self._native().bake()
            case steps.CriteriaStep():
                judged = judge_criteria(ctx, phase, arn, ops.new_tasks, result.checks)
                return judged + (self._alarms() if step.alarms else "")
            case steps.MarkStep():
                return mark_verified(ctx, arn)
            case steps.RetireStep():
                return self._shift().retire()
        raise TypeError(f"no action for a {type(step).__name__}")

    def _alarms(self) -> str:
        """The gates' alarms after a rolling deploy: one in ALARM fails it (and the rollback follows)."""
        firing, missing = alarms_in_alarm(self.ctx.clients, list(self.plan.strategy.gates.alarms))
        verdict = alarm_gate(firing, missing)
        self.result.checks.append(verdict)
        if verdict.failed:
            raise GateFailed(verdict.name, verdict.summary, verdict.fix)
        return f"; {verdict.summary}"

    def _native(self) -> NativeDeployment:
        assert self.deployment is not None, "a native step in a plan that is not native"
        return self.deployment

    def _criteria(self, group_arn: str, base_url: str | None) -> str:
        """The phase's criteria on the new revision's running tasks in ``group_arn``."""
        tasks = self.ctx.ecs.service_tasks(self.ctx.settings.service.name, ("RUNNING",))
        arn = self.result.task_definition or ""
        return judge_criteria(self.ctx, self.plan.phase, arn, tasks, self.result.checks, group_arn, base_url)
