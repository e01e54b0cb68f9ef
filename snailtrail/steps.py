"""The steps of a deploy, as typed objects: what ``plan`` prints is what ``deploy`` runs.

Each kind is a frozen dataclass with the step's ``name`` (as the trail and the JSON output know it),
a ``summary`` for the operator, the AWS operations its action makes (``api_calls``, as
"service.Operation"), whether it changes AWS (``mutating``) and how it is undone (``undo``). A
strategy (snailtrail/strategies.py) returns the list; the executor dispatches on the type.

Which calls a step declares: every call its own action makes, in the order of the sandbox's
scenarios, tested against the calls made (tests/test_steps.py). Two kinds of call are not a
step's own: the run's bookkeeping (trail events and lock renewals, written around each step), and the
reads the plan already made through the run's cached views (``ctx.colours``, ``ctx.history``), which a
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
# The in-flight record of a blue-green or canary rollout: an operator's abort or promote is read from it.
INFLIGHT_READ = "dynamodb.GetItem"
# CreateService's request: the subnets and security groups by name, in the load balancer's VPC, and the
# colour's target group (snailtrail/service_ops.py).
CREATE_SERVICE_CALLS = (
    "elbv2.DescribeLoadBalancers",
    "ec2.DescribeSubnets",
    "ec2.DescribeSecurityGroups",
    "elbv2.DescribeTargetGroups",
    "ecs.CreateService",
)


def traffic_move(rule: bool) -> str:
    """The one call that moves production traffic: a listener rule's actions, or the listener's default ones."""
    return "elbv2.ModifyRule" if rule else "elbv2.ModifyListener"


ROLLBACK_UNDO = "the rollback: the service back to the last verified revision, waited for and verified"
RESTORE_COLOUR_UNDO = "restore the old colour: its listener actions back as found, the new colour scaled to 0"


class StepFailed(SnailtrailError):
    """A step did not succeed; ``fix`` says what to change."""


class GateFailed(SnailtrailError):
    """A gate decided against the new colour; ``gate`` names it for the trail."""

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
class CreateServiceStep(Step):
    """The live service created from the configuration and the manifest (rolling, first deploy)."""

    name: ClassVar[str] = "create"
    undo: ClassVar[str] = ROLLBACK_UNDO
    api_calls: ClassVar[tuple[str, ...]] = CREATE_SERVICE_CALLS
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class UpdateServiceStep(Step):
    """The live service moved to the new revision (rolling)."""

    name: ClassVar[str] = "update"
    undo: ClassVar[str] = ROLLBACK_UNDO
    api_calls: ClassVar[tuple[str, ...]] = ("ecs.UpdateService",)
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class StartColourStep(Step):
    """The rollout recorded in flight, the idle colour's traffic set to none, then the idle colour's
    service created (``creates``) or updated to the new revision."""

    creates: bool = False
    rule: bool = False  # production traffic goes through a listener rule (environments.<name>.traffic)
    name: ClassVar[str] = "start"
    undo: ClassVar[str] = RESTORE_COLOUR_UNDO
    mutating: ClassVar[bool] = True

    @property
    def api_calls(self) -> tuple[str, ...]:
        service = CREATE_SERVICE_CALLS if self.creates else ("ecs.UpdateService",)
        return ("dynamodb.PutItem", traffic_move(self.rule), *service)


@dataclass(frozen=True)
class WaitStep(Step):
    """The ECS deployment of ``service`` watched until it is stable, fails or times out."""

    service: str = ""
    name: ClassVar[str] = "wait"
    api_calls: ClassVar[tuple[str, ...]] = WATCH_CALLS


@dataclass(frozen=True)
class TestColourStep(Step):
    """The new colour before any production traffic: target health, and the HTTP criteria through
    the test listener (``test_listener``), which this step points at the new colour."""

    test_listener: bool = False
    rule: bool = False  # the test listener's rule at the environment's rule priority moves, not the listener
    name: ClassVar[str] = "test"
    undo: ClassVar[str] = "nothing to undo: the test listener carries no production traffic"

    @property
    def api_calls(self) -> tuple[str, ...]:
        return ((traffic_move(self.rule),) if self.test_listener else ()) + TARGET_HEALTH_CALLS

    @property
    def mutating(self) -> bool:  # type: ignore[override]
        """Pointing the test listener at the new colour is a change in AWS, if not to production's traffic."""
        return self.test_listener


@dataclass(frozen=True)
class ShiftStep(Step):
    """``weight`` % of the traffic to the new colour in one listener update, then a bake of ``bake_s``
    under the gates; at 100 % the rollout is committed (an abort comes too late after that)."""

    weight: int = 100
    bake_s: float = 0.0
    rule: bool = False  # production traffic goes through a listener rule (environments.<name>.traffic)
    undo: ClassVar[str] = RESTORE_COLOUR_UNDO
    mutating: ClassVar[bool] = True

    @property
    def name(self) -> str:
        return f"shift-{self.weight}"

    @property
    def api_calls(self) -> tuple[str, ...]:
        commit = ("dynamodb.UpdateItem",) if self.weight == 100 else ()
        return (
            INFLIGHT_READ,
            traffic_move(self.rule),
            "elbv2.DescribeTargetHealth",
            "cloudwatch.GetMetricData",
            *commit,
        )


@dataclass(frozen=True)
class CriteriaStep(Step):
    """The phase's success criteria: HTTP probes through the public endpoint, the new tasks' target health."""

    name: ClassVar[str] = "verify"
    api_calls: ClassVar[tuple[str, ...]] = TARGET_HEALTH_CALLS


@dataclass(frozen=True)
class MarkStep(Step):
    """The revision tagged verified: from now on it is a rollback target."""

    name: ClassVar[str] = "mark"
    undo: ClassVar[str] = "none: the revision did verify"
    api_calls: ClassVar[tuple[str, ...]] = ("ecs.TagResource",)
    mutating: ClassVar[bool] = True


@dataclass(frozen=True)
class RetireStep(Step):
    """The old colour scaled to zero once no listener or rule forwards to it, the rollout closed."""

    name: ClassVar[str] = "retire"
    undo: ClassVar[str] = "none: the new colour is verified at 100 %; `snailtrail rollback` returns to the old revision"
    api_calls: ClassVar[tuple[str, ...]] = (
        "elbv2.DescribeListeners",
        "elbv2.DescribeRules",
        "ecs.UpdateService",
        "dynamodb.DeleteItem",
    )
    mutating: ClassVar[bool] = True
