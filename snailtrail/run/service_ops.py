"""The service layer: the one way a deploy, a rollout and a rollback change and watch an ECS service.

Every change checks the deploy lock first (a change made after the lock was lost could race another
deploy); the rollout watch reports only the service events this run has not seen.
"""

from __future__ import annotations

from typing import Any

from snailtrail.config.phases import Phase
from snailtrail.context import Context
from snailtrail.plan.deploy_plan import DeployOptions
from snailtrail.plan.steps import StepFailed
from snailtrail.run.deployment_watch import watch_deployment
from snailtrail.run.diagnosis import report_stopped_tasks
from snailtrail.state.run_trail import RunTrail


def rolling_configuration(alarms: list[str]) -> dict[str, Any]:
    """A ROLLING service's deploymentConfiguration. ECS's own rollback of a ROLLING deployment returns to the
    last COMPLETED deployment, which may never have been verified: its circuit breaker and alarms only fail
    the deployment, and snailtrail rolls back to the last verified revision."""
    return {
        "strategy": "ROLLING",
        "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        "alarms": {"alarmNames": alarms, "enable": bool(alarms), "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }


def lock_lost(ctx: Context) -> bool:
    """Whether the deploy lock this run held was lost (expired, taken over, removed): read from the table."""
    lock = ctx.held_lock  # only while the run holds one (deploy, rollback, abort, sandbox)
    return lock is not None and not lock.confirm()


def configured_network(ctx: Context) -> dict[str, Any]:
    """The awsvpc networkConfiguration the configuration names (subnets and security groups by Name tag or id)."""
    network = ctx.settings.service.network
    return {
        "awsvpcConfiguration": {
            "subnets": ctx.ec2.subnet_ids(network.subnets),
            "securityGroups": ctx.ec2.security_group_ids(network.security_groups),
            "assignPublicIp": "ENABLED" if network.assign_public_ip else "DISABLED",
        }
    }


class ServiceOps:
    def __init__(self, ctx: Context, run: RunTrail, options: DeployOptions) -> None:
        self.ctx = ctx
        self.run = run
        self.timeout_s = options.timeout_s
        self.poll_interval_s = options.poll_interval_s
        self.seen_events: set[str] = set()
        self.new_tasks: list[dict[str, Any]] = []  # the tasks the last successful wait saw running

    @classmethod
    def new_run(cls, ctx: Context, options: DeployOptions) -> ServiceOps:
        """The service layer of a new run (its own run id in the trail)."""
        return cls(ctx, RunTrail(ctx.trail, ctx.trail.new_run_id()), options)

    # -- the lock -------------------------------------------------------------------------------
    def require_lock(self) -> None:
        """A change made without the lock could race another deploy: stop instead."""
        if lock_lost(self.ctx):
            raise StepFailed(
                "the deploy lock was lost (expired, taken over or removed with unlock --force)",
                fix="check `snailtrail status` for another deploy before changing anything",
            )

    # -- changes --------------------------------------------------------------------------------
    def note_events(self, service: dict[str, Any]) -> None:
        """The service's events so far are not this run's to report: the wait prints only newer ones.

        Taken from the read the run made under its lock (the plan's, or the rollback's) rather than a
        fresh one before the update: an event ECS adds in between happened during this run.
        """
        self.seen_events.update(e["id"] for e in service.get("events", []))

    def update(self, arn: str, desired: int, phase: Phase | None, alarms: list[str] | None = None) -> str:
        """The service to ``arn`` by ECS's ROLLING strategy (set again if a native deployment had changed it, as
        its PAUSE hooks would wait for a judge a rollback does not run), with ECS's alarm detection on ``alarms``
        (None: the service's own; a deployment ECS fails on an alarm is rolled back by snailtrail)."""
        self.require_lock()
        name = self.ctx.settings.service.name
        grace = phase.container.health_check.grace_period_s if phase else None
        live = (self.ctx.live_service or {}).get("deploymentConfiguration") or {}
        live_alarms = (
            (live.get("alarms") or {}).get("alarmNames", []) if (live.get("alarms") or {}).get("enable") else []
        )
        alarms = live_alarms if alarms is None else alarms
        wanted = rolling_configuration(alarms)
        if live.get("strategy", "ROLLING") != "ROLLING" or live_alarms != alarms:
            self.ctx.ecs.update_service(name, arn, desired, grace, deploymentConfiguration=wanted)
        else:
            self.ctx.ecs.update_service(name, arn, desired, grace)
        return f"service {name} now wants {desired} task(s) of {arn}"

    def update_native(self, arn: str, desired: int, phase: Phase, native: dict[str, Any]) -> str:
        """The service to ``arn`` as a native deployment (``native``: deploymentConfiguration, loadBalancers)."""
        self.require_lock()
        name = self.ctx.settings.service.name
        live = self.ctx.live_service
        if live is not None and live.get("taskDefinition") == arn:
            # ECS starts no deployment for an UpdateService that changes nothing it deploys; the same revision
            # deployed again (a canary of what runs) asks for one (UpdateService, forceNewDeployment).
            native = native | {"forceNewDeployment": True}
        self.ctx.ecs.update_service(name, arn, desired, phase.container.health_check.grace_period_s, **native)
        strategy = native["deploymentConfiguration"]["strategy"]
        return f"service {name} now deploys {desired} task(s) of {arn} as a {strategy} service deployment"

    def create(self, arn: str, phase: Phase, desired: int | None = None, alarms: list[str] | None = None) -> str:
        """Create the service from the configuration and the phase's manifest; the caller has consent."""
        self.require_lock()
        name = self.ctx.settings.service.name
        desired = phase.container.desired_count if desired is None else desired
        self.ctx.ecs.create_service(self._create_request(arn, phase, desired, alarms or []))
        self.ctx.reporter.warn(f"service {name} did not exist: created it from {phase.path.name}")
        return f"created service {name} with {desired} task(s) of {arn}"

    def _create_request(self, arn: str, phase: Phase, desired: int, alarms: list[str]) -> dict[str, Any]:
        """CreateService's request (Amazon ECS API reference, CreateService)."""
        settings = self.ctx.settings
        group_name = settings.service.load_balancer.target_group
        target_group = self.ctx.elbv2.target_group(group_name)
        if target_group is None:
            raise StepFailed(
                f"target group {group_name} does not exist",
                fix="create it (ip targets, the container port), or fix service.load_balancer.target_group",
            )
        return {
            "serviceName": settings.service.name,
            "taskDefinition": arn,
            "desiredCount": desired,
            "launchType": settings.service.launch_type,
            "networkConfiguration": configured_network(self.ctx),
            "loadBalancers": [
                {
                    "targetGroupArn": target_group["TargetGroupArn"],
                    "containerName": settings.service.container_name,
                    "containerPort": phase.container.port,
                }
            ],
            "healthCheckGracePeriodSeconds": phase.container.health_check.grace_period_s,
            "deploymentConfiguration": rolling_configuration(alarms),
            "tags": [{"key": "snailtrail:managed", "value": "true"}],
        }

    # -- the rollout watch ----------------------------------------------------------------------
    def wait(self, arn: str, phase_name: str | None) -> str:
        """Watch the service's deployment of ``arn`` until it is stable; a failure says why its tasks stopped."""
        service = self.ctx.settings.service.name
        outcome = watch_deployment(
            self.ctx.ecs,
            service,
            arn,
            self.timeout_s,
            self.poll_interval_s,
            self.ctx.reporter.detail,
            self.seen_events,
        )
        if not outcome.ok:
            reasons = list(outcome.stopped)
            if outcome.new_tasks:  # the stopped tasks: their own last lines and the checks that explain them
                logged = report_stopped_tasks(self.ctx, self.run.emit, outcome.new_tasks, phase_name, arn)
                reasons += [logged] if logged else []
            raise StepFailed(
                f"rollout failed: {outcome.summary}" + (f": {'; '.join(reasons)}" if reasons else ""),
                fix="read the stopped reasons and exit codes above; `snailtrail smoke PHASE` reproduces "
                "most start-up failures locally",
            )
        self.new_tasks = outcome.new_tasks
        return outcome.summary
