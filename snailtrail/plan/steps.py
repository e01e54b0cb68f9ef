"""The steps of a deploy, as typed objects: what ``plan`` prints is what ``deploy`` runs.

Each kind is a frozen dataclass with the step's ``name`` (as the trail and the JSON output know it),
a ``summary`` for the operator, the AWS operations its action makes (``api_calls``, as
"service.Operation"), whether it changes AWS (``mutating``) and how it is undone (``undo``). A
strategy (snailtrail/plan/strategies.py) returns the list; the executor dispatches on the type.

Which calls a step declares: every call its own action makes, in the order of the sandbox's
scenarios, tested against the calls made (tests/plan/test_steps.py). Two kinds of call are not a
step's own: the run's bookkeeping (trail events and lock renewals, written around each step, and the
stages and hooks a native step writes as it sees them), and the
reads the plan already made through the run's cached views (``ctx.live_service``, ``ctx.history``), which a
step finds cached. A read through a cached view that only a step makes (a cache the plan left cold)
is that step's, and declared. A step that fails may read more to explain why (the stopped tasks'
logs and the checks that explain them): that diagnosis is not declared, as it is not planned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from snailtrail.errors import SnailtrailError

WATCH_CALLS = ("ecs.DescribeServices", "ecs.ListTasks", "ecs.DescribeTasks")
# The new tasks' health in their target group, by the group's name (success criteria and gates).
TARGET_HEALTH_CALLS = ("elbv2.DescribeTargetGroups", "elbv2.DescribeTargetHealth")
# Every change of the service reads the deploy lock's token first (snailtrail/state/lock.py, DeployLock.confirm).
LOCK_CHECK = "dynamodb.GetItem"
# CreateService's request: the subnets and security groups by name, in the load balancer's VPC, and the
# service's target group (snailtrail/run/service_ops.py).
CREATE_SERVICE_CALLS = (
    LOCK_CHECK,
    "elbv2.DescribeLoadBalancers",
    "ec2.DescribeSubnets",
    "ec2.DescribeSecurityGroups",
    "elbv2.DescribeTargetGroups",
    "ecs.CreateService",
)


ROLLBACK_UNDO = "the rollback: the service back to the last verified revision, waited for and verified"


class StepFailed(SnailtrailError):
    """A step did not succeed; ``fix`` says what to change."""


class GateFailed(SnailtrailError):
    """A gate decided against the new revision; ``gate`` names it for the trail."""

    def __init__(self, gate: str, message: str, fix: str | None = None) -> None:
        super().__init__(message, fix=fix)
        self.gate = gate


@dataclass(frozen=True)
class Step:
    """One step of a deploy: the fields every kind shares, and its JSON (docs/contract.md)."""

    summary: str
    name: ClassVar[str]
    api_calls: ClassVar[tuple[str, ...]] = ()
    mutating: ClassVar[bool] = False
    undo: ClassVar[str] = "nothing to undo: it changes nothing in AWS"

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "summary": self.summary,
            "api_calls": list(self.api_calls),
            "mutating": self.mutating,
        }


@dataclass(frozen=True)
class BuildStep(Step):
    """docker build of the phase's image, on this machine."""

    name: ClassVar[str] = "build"


@dataclass(frozen=True)
class SmokeStep(Step):
    """The image run locally with the task definition's environment, its health path probed."""

    name: ClassVar[str] = "smoke"


@dataclass(frozen=True)
class PushStep(Step):
    """The image pushed to the registry, its digest recorded."""

    ecr: bool = False  # ECR needs an authorization token; the sandbox's registry does not
    name: ClassVar[str] = "push"
    undo: ClassVar[str] = "nothing to undo: an image no revision names is never run"

    @property
    def api_calls(self) -> tuple[str, ...]:
        return ("ecr.GetAuthorizationToken",) if self.ecr else ()


@dataclass(frozen=True)
class RegisterStep(Step):
    """A new task-definition revision, unless an identical one exists (``reuse``)."""

    reuse: str | None = None
    name: ClassVar[str] = "register"
    undo: ClassVar[str] = "nothing to undo: an unverified revision is never a rollback target"

    @property
    def api_calls(self) -> tuple[str, ...]:
        return () if self.reuse else ("ecs.RegisterTaskDefinition",)

    @property
    def mutating(self) -> bool:
        return self.reuse is None


@dataclass(frozen=True)
class BeforeDeployStep(Step):
    """One of the phase's ``before_deploy`` tasks (a migration) run once with the new revision, before the
    service changes (snailtrail/run/one_off.py); the deploy stops if it does not exit 0. The last one records the
    schema the phase declares (``leaves_schema``).

    Its calls: the new revision described (its container and log stream), RunTask in the service's network
    (read from the configuration when there is no service yet: ``service_exists`` False), DescribeTasks and
    the task's log stream until it stops, and the task's start and end in the trail (run.started,
    run.finished, schema.changed). A task that outlives its timeout is stopped (StopTask): a failure's call.
    """

    task: str = ""
    container: str = ""
    command: tuple[str, ...] = ()
    timeout_s: float = 900.0
    service_exists: bool = True
    leaves_schema: int | None = None
    undo: ClassVar[str] = (
        "nothing snailtrail can undo: what the task changed stays (a migration's down-migration is a task of its "
        "own: `snailtrail run`); the service is not changed"
    )
    mutating: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return f"before-{self.task}"

    @property
    def api_calls(self) -> tuple[str, ...]:
        # Before the service exists, RunTask takes the configured network: its names resolved to ids.
        first_deploy = ("elbv2.DescribeLoadBalancers", "ec2.DescribeSubnets", "ec2.DescribeSecurityGroups")
        network = () if self.service_exists else first_deploy
        return (
            "ecs.DescribeTaskDefinition",
            *network,
            "dynamodb.PutItem",
            "ecs.RunTask",
            "ecs.DescribeTasks",
            "logs.GetLogEvents",
        )


@dataclass(frozen=True)
class CreateServiceStep(Step):
    """The live service created from the configuration and the manifest (rolling, first deploy)."""

    name: ClassVar[str] = "create"
    undo: ClassVar[str] = ROLLBACK_UNDO
    api_calls: ClassVar[tuple[str, ...]] = CREATE_SERVICE_CALLS
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class UpdateServiceStep(Step):
    """The service moved to the new revision by ECS's ROLLING strategy."""

    name: ClassVar[str] = "update"
    undo: ClassVar[str] = ROLLBACK_UNDO
    api_calls: ClassVar[tuple[str, ...]] = (LOCK_CHECK, "ecs.UpdateService")
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class WaitStep(Step):
    """The service's ECS deployment watched until it is stable, fails or times out."""

    name: ClassVar[str] = "wait"
    api_calls: ClassVar[tuple[str, ...]] = WATCH_CALLS


# Following a native service deployment: the first read finds it, each later one describes it.
FOLLOW_CALLS = ("ecs.ListServiceDeployments", "ecs.DescribeServiceDeployments")
# The gates: the new revision's targets, its traffic against the old revision's, the named alarms.
GATE_CALLS = ("elbv2.DescribeTargetHealth", "cloudwatch.GetMetricData")
# The new tasks' target health in the success criteria: the service's running tasks.
TASK_CALLS = ("ecs.ListTasks", "ecs.DescribeTasks", "elbv2.DescribeTargetHealth")
NATIVE_UNDO = "ECS rolls the service deployment back: ContinueServiceDeployment or StopServiceDeployment ROLLBACK"


@dataclass(frozen=True)
class NativeUpdateStep(Step):
    """The one service moved to the new revision as a native deployment: UpdateService with the
    strategy's deploymentConfiguration (PAUSE hooks, circuit breaker, alarms) and the advancedConfiguration
    of its load balancer (the listener rules and role discovered by the plan)."""

    name: ClassVar[str] = "update"
    undo: ClassVar[str] = NATIVE_UNDO
    api_calls: ClassVar[tuple[str, ...]] = (LOCK_CHECK, "ecs.UpdateService")
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class TestStep(Step):
    """At POST_TEST_TRAFFIC_SHIFT, before any production traffic: the phase's success criteria through the
    test listener and the new tasks' target health; then CONTINUE, unless a manual hold follows (``hold``)."""

    hold: bool = False
    name: ClassVar[str] = "test"
    undo: ClassVar[str] = NATIVE_UNDO

    @property
    def api_calls(self) -> tuple[str, ...]:
        answer = () if self.hold else ("ecs.ContinueServiceDeployment",)
        return (*FOLLOW_CALLS, "elbv2.DescribeRules", *TASK_CALLS, *answer)

    @property
    def mutating(self) -> bool:  # type: ignore[override]
        return not self.hold


@dataclass(frozen=True)
class HoldStep(Step):
    """A manual hold: the deployment waits at its PAUSE hook for `snailtrail promote` or `snailtrail abort`;
    the webhooks are told what waits, the evidence and the commands."""

    name: ClassVar[str] = "hold"
    undo: ClassVar[str] = NATIVE_UNDO
    api_calls: ClassVar[tuple[str, ...]] = ("ecs.DescribeServiceDeployments",)


@dataclass(frozen=True)
class ProductionStep(Step):
    """Production traffic shifted by ECS (the canary, the linear steps) under the gates; at
    POST_PRODUCTION_TRAFFIC_SHIFT the gates and the success criteria through the public endpoint, then
    CONTINUE. A failed gate rolls back at once."""

    alarms: bool = False  # the gates name CloudWatch alarms
    name: ClassVar[str] = "production"
    undo: ClassVar[str] = NATIVE_UNDO
    mutating: ClassVar[bool] = True

    @property
    def api_calls(self) -> tuple[str, ...]:
        alarms = ("cloudwatch.DescribeAlarms",) if self.alarms else ()
        return ("ecs.DescribeServiceDeployments", *GATE_CALLS, *alarms, *TASK_CALLS, "ecs.ContinueServiceDeployment")


@dataclass(frozen=True)
class BakeStep(Step):
    """ECS's bake (both revisions kept, production on the new one) under the gates, until the deployment is
    SUCCESSFUL; a failed gate rolls back through ECS at once."""

    alarms: bool = False
    name: ClassVar[str] = "bake"
    undo: ClassVar[str] = NATIVE_UNDO

    @property
    def api_calls(self) -> tuple[str, ...]:
        alarms = ("cloudwatch.DescribeAlarms",) if self.alarms else ()
        return ("ecs.DescribeServiceDeployments", *GATE_CALLS, *alarms)


@dataclass(frozen=True)
class CriteriaStep(Step):
    """The phase's success criteria: HTTP probes through the public endpoint, the new tasks' target health,
    and the CloudWatch alarms the strategy's gates name (``alarms``), which fail the deploy in ALARM."""

    alarms: bool = False
    name: ClassVar[str] = "verify"

    @property
    def api_calls(self) -> tuple[str, ...]:
        return TARGET_HEALTH_CALLS + (("cloudwatch.DescribeAlarms",) if self.alarms else ())


@dataclass(frozen=True)
class MarkStep(Step):
    """The revision tagged verified: from now on it is a rollback target."""

    name: ClassVar[str] = "mark"
    undo: ClassVar[str] = "none: the revision did verify"
    api_calls: ClassVar[tuple[str, ...]] = ("ecs.TagResource",)
    mutating: ClassVar[bool] = True
