"""Run a deploy plan step by step, write every step to the trail, roll back on failure."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.ecs import TAG_DIGEST, TAG_FINGERPRINT, TAG_PHASE, TAG_REVISION, TAG_VERIFIED
from snailtrail.capacity import planned_count
from snailtrail.checks.base import CheckResult
from snailtrail.checks.criteria import http_probes, ml_mode_criterion, retry_until, target_health_criterion
from snailtrail.colours import Colour
from snailtrail.context import Context
from snailtrail.diagnosis import report_stopped_tasks
from snailtrail.errors import SnailtrailError, operator_error
from snailtrail.history import rollback_target
from snailtrail.phases import Phase
from snailtrail.plan import DeployOptions, DeployPlan
from snailtrail.progressive import ProgressiveRollout
from snailtrail.rollout import watch_rollout
from snailtrail.taskdef import Revision, fingerprint, render
from snailtrail.trail import Event, now_iso


class StepFailed(SnailtrailError):
    """A step did not succeed; ``fix`` says what to change."""


@dataclass
class StepRecord:
    name: str
    ok: bool
    duration_s: float
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "duration_s": round(self.duration_s, 3), "detail": self.detail}


@dataclass
class RunResult:
    """What deploy and rollback report (docs/contract.md's JSON shape) and the exit code."""

    ok: bool
    phase: str | None
    environment: str
    task_definition: str | None = None
    previous_task_definition: str | None = None
    rolled_back: bool = False
    rolled_back_to: str | None = None
    duration_s: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    exit_code: int = 0
    message: str = ""
    fix: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "phase": self.phase,
            "environment": self.environment,
            "task_definition": self.task_definition,
            "previous_task_definition": self.previous_task_definition,
            "rolled_back": self.rolled_back,
            "rolled_back_to": self.rolled_back_to,
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_json() for s in self.steps],
            "checks": [c.to_json() for c in self.checks],
            "message": self.message,
            "fix": self.fix,
        }


class Executor:
    def __init__(self, ctx: Context, options: DeployOptions, run_id: str | None = None) -> None:
        self.ctx = ctx
        self.options = options
        self.run_id = run_id or ctx.trail.new_run_id()
        self._seen_events: set[str] = set()
        self._new_tasks: list[dict[str, Any]] = []

    # -- trail and progress -------------------------------------------------------------------
    def emit(self, kind: str, phase: str | None, detail: str = "", **extra: Any) -> None:
        self.ctx.trail.emit(Event(kind=kind, run_id=self.run_id, phase=phase, detail=detail, **extra))

    def run_step(self, result: RunResult, phase: str | None, name: str, summary: str, action: Callable[[], str]) -> str:
        """Run one step: spinner, timing, a trail event and a StepRecord whatever the outcome."""
        started = time.monotonic()
        task_definition = result.task_definition
        try:
            with self.ctx.reporter.step(name, summary):
                detail = action()
        except Exception as raw:  # every failure of a step is reported, and rolled back, the same way
            exc = operator_error(raw)
            duration = time.monotonic() - started
            result.steps.append(StepRecord(name, False, duration, exc.message))
            self.ctx.reporter.step_done(name, False, duration, exc.message)
            self.emit(
                "step",
                phase,
                exc.message,
                ok=False,
                duration_s=round(duration, 3),
                task_definition=task_definition,
                data={"step": name, "fix": exc.fix},
            )
            raise exc from raw
        duration = time.monotonic() - started
        result.steps.append(StepRecord(name, True, duration, detail))
        self.ctx.reporter.step_done(name, True, duration, detail)
        self.emit(
            "step",
            phase,
            detail,
            ok=True,
            duration_s=round(duration, 3),
            task_definition=result.task_definition,
            data={"step": name},
        )
        return detail

    # -- deploy ---------------------------------------------------------------------------------
    def deploy(self, plan: DeployPlan) -> RunResult:
        phase = plan.phase
        started = time.monotonic()
        result = RunResult(
            False,
            phase.name,
            plan.environment,
            previous_task_definition=plan.service.get("taskDefinition") if plan.service else None,
        )
        self.emit(
            "deploy.started",
            phase.name,
            f"deploy {phase.name} to {plan.environment}",
            data={"steps": [s.name for s in plan.steps]},
        )
        if plan.service is not None:
            self.note_events(plan.service)
        image_state: dict[str, str] = {"image": plan.options.image or "", "digest": ""}
        service_touched = False
        progressive = ProgressiveRollout(self, plan) if plan.progressive else None
        new_colour = progressive.new if progressive else None
        try:
            for step in plan.steps:
                if step.name == "build":
                    self.run_step(result, phase.name, "build", step.summary, lambda: self._build(phase, image_state))
                elif step.name == "smoke":
                    self.run_step(result, phase.name, "smoke", step.summary, lambda: self._smoke(phase, image_state))
                elif step.name == "push":
                    self.run_step(result, phase.name, "push", step.summary, lambda: self._push(phase, image_state))
                elif step.name == "register":
                    self.run_step(
                        result, phase.name, "register", step.summary, lambda: self._register(phase, image_state, result)
                    )
                elif step.name in ("update", "create"):
                    service_touched = True
                    self.run_step(
                        result,
                        phase.name,
                        step.name,
                        step.summary,
                        lambda name=step.name: self._update_or_create(name, plan, result),
                    )
                elif step.name == "start" and progressive:
                    self.run_step(result, phase.name, "start", step.summary, lambda: progressive.start(phase, result))
                elif step.name == "wait":
                    self.run_step(
                        result,
                        phase.name,
                        "wait",
                        step.summary,
                        lambda: self._wait(result, new_colour.service if new_colour else None),
                    )
                elif step.name == "test" and progressive:
                    self.run_step(result, phase.name, "test", step.summary, lambda: progressive.test(phase, result))
                elif step.name.startswith("shift-") and progressive:
                    weight = int(step.name.removeprefix("shift-"))
                    self.run_step(result, phase.name, step.name, step.summary, lambda w=weight: progressive.shift(w))
                elif step.name == "verify":
                    self.run_step(
                        result,
                        phase.name,
                        "verify",
                        step.summary,
                        lambda: self.verify(phase, result.task_definition or "", result, colour=new_colour),
                    )
                elif step.name == "mark":
                    self.run_step(result, phase.name, "mark", step.summary, lambda: self._mark_verified(result))
                elif step.name == "retire" and progressive:
                    self.run_step(result, phase.name, "retire", step.summary, progressive.retire)
        except SnailtrailError as failure:
            result.message, result.fix = failure.message, failure.fix
            try:
                if progressive is not None and progressive.began:
                    self.emit("deploy.failed", phase.name, result.message, ok=False, data={"fix": result.fix})
                    last_step = result.steps[-1].name if result.steps else "deploy"
                    gate = getattr(failure, "gate", None) or f"{last_step} step"
                    progressive.abort(result, gate, failure.message)
                else:
                    self._after_failure(plan, result, service_touched)
            except KeyboardInterrupt:
                self.emit(
                    "rollback.interrupted",
                    phase.name,
                    "interrupted during the rollback: the service may be "
                    "on an unverified revision; `snailtrail rollback` finishes it",
                    ok=False,
                    task_definition=result.task_definition,
                )
                raise
        except KeyboardInterrupt:
            if progressive is not None and progressive.began:
                result.message = "interrupted: aborting the rollout"
                self.ctx.reporter.warn("interrupted: traffic goes back to the old colour")
                progressive.abort(result, "interrupt", "the deploy was interrupted")
                result.exit_code = 130 if result.exit_code != 3 else 3
            else:
                self._after_interrupt(plan, result, service_touched)
        else:
            # No event of its own: deploy.finished with ok says the phase verified (report.phase_states).
            result.ok, result.exit_code = True, 0
            result.message = f"{phase.name} deployed and verified: {result.task_definition}"
        result.duration_s = time.monotonic() - started
        self.emit(
            "deploy.finished",
            phase.name,
            result.message,
            ok=result.ok,
            duration_s=round(result.duration_s, 3),
            task_definition=result.task_definition,
            data={"exit_code": result.exit_code, "rolled_back_to": result.rolled_back_to},
        )
        return result

    def _after_interrupt(self, plan: DeployPlan, result: RunResult, service_touched: bool) -> None:
        """Stop waiting; a service already changed and not verified goes back to the last verified
        deployment (a second interrupt stops that at once, and the trail says where it stopped)."""
        phase = plan.phase.name
        if not service_touched:
            state = "interrupted before the service was changed: nothing to undo"
        elif not plan.options.rollback:
            state = (
                f"interrupted with the service on unverified {result.task_definition} (--no-rollback); "
                "`snailtrail rollback` returns it to the last verified deployment"
            )
        else:
            state = f"interrupted with the service on unverified {result.task_definition}: rolling back"
        self.emit("deploy.interrupted", phase, state, ok=False, task_definition=result.task_definition)
        self.ctx.reporter.warn(state + (" (interrupt again to stop at once)" if "rolling back" in state else ""))
        result.message, result.fix = state, "snailtrail status shows what runs; snailtrail rollback recovers"
        if "rolling back" in state:
            try:
                self._after_failure(plan, result, service_touched)
            except KeyboardInterrupt:
                self.emit(
                    "rollback.interrupted",
                    phase,
                    "second interrupt: the rollback was abandoned; `snailtrail rollback` finishes it",
                    ok=False,
                    task_definition=result.task_definition,
                )
                raise
        if result.exit_code != 3:  # a failed rollback says more than the interrupt: a human is needed now
            result.exit_code = 130

    def _after_failure(self, plan: DeployPlan, result: RunResult, service_touched: bool) -> None:
        phase = plan.phase.name
        self.emit(
            "deploy.failed",
            phase,
            result.message,
            ok=False,
            task_definition=result.task_definition,
            data={"fix": result.fix},
        )
        if not service_touched:
            result.exit_code = 1
            result.message += " (the service was not changed)"
            return
        if not plan.options.rollback:
            result.exit_code = 1
            result.message += f" (--no-rollback: the service stays on unverified {result.task_definition})"
            return
        try:
            # What ran before this deploy, if verified, else the verified revision live before that.
            target = rollback_target(self.ctx, result.task_definition)
        except Exception as raw:  # noqa: BLE001 - whatever the cause, the service needs a human
            result.exit_code = 3
            result.message += f"; the rollback target could not be found: {operator_error(raw).message}"
            result.fix = "the service runs an unverified revision: `snailtrail status`, then `snailtrail rollback`"
            self.emit("rollback.impossible", phase, result.message, ok=False, task_definition=result.task_definition)
            return
        if target is None:
            result.exit_code = 3
            result.message += (
                f"; no verified deployment exists to roll back to: the service runs unverified {result.task_definition}"
            )
            result.fix = "fix the cause above and deploy again, or scale the service to 0"
            self.emit("rollback.impossible", phase, result.message, ok=False, task_definition=result.task_definition)
            return
        rollback = self.rollback_to(target, result_for=result, reason=f"the deploy of {phase} failed")
        result.rolled_back, result.rolled_back_to = True, target.arn
        result.checks.extend(rollback.checks)
        result.exit_code = 1 if rollback.ok else 3
        if rollback.ok:
            result.message += f"; rolled back to verified {target.arn} ({target.phase}), which verifies"
        else:
            result.message += f"; the rollback to {target.arn} failed too: {rollback.message}"
            result.fix = "the service needs a human now: `snailtrail status` shows what runs"

    # -- rollback -------------------------------------------------------------------------------
    def rollback_to(self, target: Revision, result_for: RunResult | None = None, reason: str = "") -> RunResult:
        """Update the service to a verified revision, wait, and verify it with its own phase's criteria."""
        started = time.monotonic()
        phase = self.ctx.phase_or_none(target.phase)
        phase_name = target.phase
        try:
            service = self.ctx.refresh_colours().live_service
        except Exception as raw:  # noqa: BLE001 - reported as the rollback failing, never escaping it
            service, describe_error = None, operator_error(raw)
        else:
            describe_error = None
            if service is not None:
                self.note_events(service)
        result = RunResult(
            False,
            phase_name,
            self.ctx.settings.environment_name,
            task_definition=target.arn,
            previous_task_definition=service.get("taskDefinition") if service else None,
            rolled_back=True,
            rolled_back_to=target.arn,
        )
        self.emit("rollback.started", phase_name, f"rolling back to {target.arn}: {reason}", task_definition=target.arn)
        self.ctx.reporter.heading(f"Rolling back to verified {target.arn} ({phase_name})")
        steps_before = len(result_for.steps) if result_for else 0
        try:
            if describe_error is not None:
                raise describe_error
            if service is None:
                raise StepFailed(
                    f"service {self.ctx.colours.live.service} does not exist; nothing to roll back",
                    fix="deploy a phase to create it",
                )
            live_count = service.get("desiredCount", 1)
            desired = planned_count(
                self.ctx, phase.container.desired_count if phase else live_count, service, self.options.desired_count
            )
            self.run_step(
                result,
                phase_name,
                "update",
                f"update the service to {target.arn}, desired count {desired.count} ({desired.reason})",
                lambda: self.update_service(target.arn, desired.count, phase),
            )
            self.run_step(result, phase_name, "wait", "watch the rollback", lambda: self._wait(result))
            if phase is None:
                raise StepFailed(
                    f"the manifest of {phase_name} is gone; the rollback cannot be verified",
                    fix=f"restore phases/{phase_name}-*.yaml",
                )
            self.run_step(
                result,
                phase_name,
                "verify",
                "success criteria of the restored phase",
                lambda: self.verify(phase, target.arn, result),
            )
        except SnailtrailError as failure:
            result.message, result.fix, result.exit_code = failure.message, failure.fix, 3
        else:
            result.ok, result.exit_code = True, 0
            result.message = f"rolled back to {target.arn} ({phase_name}) and verified"
            # Proven good again, now: the next rollback's "last verified" is what runs, not what was
            # verified last before this rollback. The rollback stands even if the tag cannot be written.
            try:
                self._mark_verified(result)
            except Exception as raw:  # noqa: BLE001 - a missing tag must not undo a verified rollback
                self.ctx.reporter.warn(f"could not re-tag {target.arn} verified: {operator_error(raw).message}")
        result.duration_s = time.monotonic() - started
        self.emit(
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

    # -- the steps ------------------------------------------------------------------------------
    def _build(self, phase: Phase, image_state: dict[str, str]) -> str:
        from snailtrail import images

        built = images.build(self.ctx.settings, phase, self.ctx.reporter.detail, self.options.build_args)
        image_state.update(local=built.local_tag, image_id=built.image_id)
        return f"built {built.local_tag} ({built.image_id[:19]})"

    def _smoke(self, phase: Phase, image_state: dict[str, str]) -> str:
        from snailtrail import images

        image = image_state["image"] or self._built_image(phase, image_state).local_tag
        spec = phase.container
        timeout = max(30.0, float(spec.health_check.grace_period_s))
        smoke = images.smoke(image, self.ctx.settings, phase, timeout, self.ctx.reporter.detail)
        if not smoke.ok:
            raise StepFailed(
                f"smoke test failed: {smoke.summary}",
                fix="the image must listen on $PORT (the task definition's container port) and answer "
                f"{spec.health_check.path} with 200",
            )
        if smoke.seconds_to_healthy is not None and smoke.seconds_to_healthy > spec.health_check.grace_period_s:
            self.ctx.reporter.warn(
                f"the image took {smoke.seconds_to_healthy:.1f} s to become healthy, longer than "
                f"the health-check grace period ({spec.health_check.grace_period_s} s)"
            )
        return smoke.summary

    def _built_image(self, phase: Phase, image_state: dict[str, str]) -> Any:
        """This run's build, or with --no-build the image built earlier for this phase and revision."""
        from snailtrail import images

        if "local" not in image_state:
            earlier = images.existing(self.ctx.settings, phase)
            image_state.update(local=earlier.local_tag, image_id=earlier.image_id)
        return images.BuiltImage(image_state["local"], image_state["image_id"])

    def _push(self, phase: Phase, image_state: dict[str, str]) -> str:
        from snailtrail import images

        built = self._built_image(phase, image_state)
        host, auth = images.registry_host(self.ctx.settings, self.ctx.clients, self.ctx.endpoints.registry)
        if host is None:
            pushed = images.local_reference(built)
            image_state.update(image=pushed.reference, digest=pushed.digest)
            return f"no registry: the local engine's {pushed.reference} is used ({pushed.digest[:19]})"
        with self.ctx.reporter.layers("push") as on_layer:
            pushed = images.push(built, host, auth, self.ctx.settings.service.image_repository, on_layer)
        image_state.update(image=pushed.reference, digest=pushed.digest)
        return f"pushed {pushed.reference}"

    def _register(self, phase: Phase, image_state: dict[str, str], result: RunResult) -> str:
        from snailtrail.source_revision import git_revision

        rendered = render(self.ctx.settings, phase, image_state["image"])
        identical = self.ctx.history.find_identical(rendered, phase.name, result.previous_task_definition)
        if identical is not None:
            result.task_definition = identical.arn
            return f"identical definition exists: reusing {identical.arn}"
        digest = image_state["digest"] or image_state["image"].partition("@")[2] or "unknown"
        tags = {
            TAG_PHASE: phase.name,
            TAG_DIGEST: digest,
            TAG_REVISION: git_revision(self.ctx.settings.root),
            TAG_FINGERPRINT: fingerprint(rendered),
        }
        registered = self.ctx.ecs.register_task_definition(rendered, tags)
        result.task_definition = registered["taskDefinitionArn"]
        self.ctx.history.add_tags(result.task_definition, tags)
        return f"registered {result.task_definition}"

    def _update_or_create(self, name: str, plan: DeployPlan, result: RunResult) -> str:
        phase = plan.phase
        arn = result.task_definition or ""
        if name == "update":
            return self.update_service(arn, plan.desired.count, phase)
        return self.create_service(arn, phase, desired=plan.desired.count)

    def lock_lost(self) -> bool:
        lock = self.ctx.__dict__.get("lock")  # only when this run holds one (deploy, rollback)
        return lock is not None and lock.lost.is_set()

    def require_lock(self) -> None:
        """A change made without the lock could race another deploy: stop instead."""
        if self.lock_lost():
            raise StepFailed(
                "the deploy lock was lost (expired, taken over or removed with unlock --force)",
                fix="check `snailtrail status` for another deploy before changing anything",
            )

    def note_events(self, service: dict[str, Any]) -> None:
        """The service's events so far are not this run's to report: the wait prints only newer ones.

        Taken from the read the run made under its lock (the plan's, or the rollback's) rather than a
        fresh one before the update: an event ECS adds in between happened during this run.
        """
        self._seen_events.update(e["id"] for e in service.get("events", []))

    def update_service(self, arn: str, desired: int, phase: Phase | None, service_name: str | None = None) -> str:
        self.require_lock()
        name = service_name or self.ctx.colours.live.service
        grace = phase.container.health_check.grace_period_s if phase else None
        self.ctx.ecs.update_service(name, arn, desired, grace)
        return f"service {name} now wants {desired} task(s) of {arn}"

    def create_service(self, arn: str, phase: Phase, colour: Colour | None = None, desired: int | None = None) -> str:
        """Create a colour's service (default: the live one) from the configuration and the phase's
        manifest; the caller has consent."""
        self.require_lock()
        settings = self.ctx.settings
        colour = colour or self.ctx.colours.live
        desired = phase.container.desired_count if desired is None else desired
        target_group = self.ctx.elbv2.target_group(colour.target_group)
        if target_group is None:
            raise StepFailed(
                f"target group {colour.target_group} does not exist",
                fix="create it (ip targets, the container port), or fix its name in snailtrail.yaml "
                "(service.load_balancer.target_group, service.blue_green.target_group)",
            )
        network = settings.service.network
        request = {
            "serviceName": colour.service,
            "taskDefinition": arn,
            "desiredCount": desired,
            "launchType": settings.service.launch_type,
            "networkConfiguration": {
                "awsvpcConfiguration": {
                    "subnets": self.ctx.ec2.subnet_ids(network.subnets),
                    "securityGroups": self.ctx.ec2.security_group_ids(network.security_groups),
                    "assignPublicIp": "ENABLED" if network.assign_public_ip else "DISABLED",
                }
            },
            "loadBalancers": [
                {
                    "targetGroupArn": target_group["TargetGroupArn"],
                    "containerName": settings.service.container_name,
                    "containerPort": phase.container.port,
                }
            ],
            "healthCheckGracePeriodSeconds": phase.container.health_check.grace_period_s,
            # ECS's own rollback returns to the last COMPLETED deployment, which may never have been
            # verified; snailtrail detects the failure and rolls back to the last verified one.
            "deploymentConfiguration": {
                "deploymentCircuitBreaker": {"enable": True, "rollback": False},
                "maximumPercent": 200,
                "minimumHealthyPercent": 100,
            },
            "tags": [{"key": "snailtrail:managed", "value": "true"}],
        }
        self.ctx.ecs.create_service(request)
        self.ctx.reporter.warn(f"service {colour.service} did not exist: created it from {phase.path.name}")
        return f"created service {colour.service} with {desired} task(s) of {arn}"

    def _wait(self, result: RunResult, service_name: str | None = None) -> str:
        outcome = watch_rollout(
            self.ctx.ecs,
            service_name or self.ctx.colours.live.service,
            result.task_definition or "",
            self.options.timeout_s,
            self.options.poll_interval_s,
            self.ctx.reporter.detail,
            self._seen_events,
        )
        if not outcome.ok:
            reasons = "; ".join(outcome.stopped) if outcome.stopped else ""
            if outcome.new_tasks:  # the stopped tasks: their own last lines and the checks that explain them
                logged = report_stopped_tasks(
                    self.ctx, self.emit, outcome.new_tasks, result.phase, result.task_definition, service_name is None
                )
                reasons += f"; {logged}" if logged else ""
            raise StepFailed(
                f"rollout failed: {outcome.summary}" + (f": {reasons}" if reasons else ""),
                fix="read the stopped reasons and exit codes above; `snailtrail smoke PHASE` reproduces "
                "most start-up failures locally",
            )
        self._new_tasks = outcome.new_tasks
        return outcome.summary

    def verify(
        self,
        phase: Phase,
        arn: str,
        result: RunResult,
        base_url: str | None = None,
        colour: Colour | None = None,
        http: bool = True,
    ) -> str:
        """The phase's success criteria: HTTP probes at ``base_url`` (default: the public URL) unless
        ``http`` is False, and the new tasks' health in the colour's target group (default: live)."""
        checks: list[CheckResult] = []
        if http:
            url = base_url or self.ctx.public_url()
            checks.extend(http_probes(phase, url))
            if phase.manifest.success.ml_mode is not None:
                checks.append(ml_mode_criterion(phase, url))
        wanted = phase.manifest.success.healthy_targets
        if wanted is None:
            wanted = phase.container.desired_count
        if wanted:
            target_group = self.ctx.elbv2.target_group((colour or self.ctx.colours.live).target_group)
            if target_group is None:
                raise StepFailed("the service's target group is gone", fix="recreate it; `snailtrail verify` says more")
            tasks = [t for t in self._new_tasks if t.get("taskDefinitionArn") == arn]
            group_arn = target_group["TargetGroupArn"]

            def judge() -> tuple[CheckResult, str | None]:
                # A target still registering is not yet a failure: asked again like the HTTP probes.
                health = target_health_criterion(self.ctx.elbv2.target_health(group_arn), group_arn, tasks, wanted)
                return health, health.summary if health.failed else None

            criteria = phase.manifest.success
            checks.append(retry_until(judge, criteria.attempts, criteria.interval_s)[0])
        result.checks.extend(checks)
        broken = [c for c in checks if c.failed]
        if broken:
            raise StepFailed(
                f"{len(broken)} success criteria failed: " + "; ".join(c.summary for c in broken), fix=broken[0].fix
            )
        return f"{len(checks)} success criteria passed"

    def _mark_verified(self, result: RunResult) -> str:
        arn = result.task_definition or ""
        at = now_iso()
        self.ctx.ecs.tag(arn, {TAG_VERIFIED: at})
        self.ctx.history.add_tags(arn, {TAG_VERIFIED: at})
        return f"tagged {arn.rsplit('/', 1)[-1]} verified at {at}"
