"""snailtrail.yaml's strategy block: how a deploy moves the one service (ECS's ROLLING, or its native
BLUE_GREEN, CANARY and LINEAR with snailtrail's PAUSE hooks), ECS's alarm rollback and snailtrail's gates.

Environments and phases carry it (snailtrail/config/settings.py, snailtrail/config/phases.py).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StrategyKind(StrEnum):
    """ECS's deploymentConfiguration.strategy, as snailtrail.yaml spells it."""

    rolling = "rolling"
    blue_green = "blue-green"
    canary = "canary"
    linear = "linear"

    @property
    def ecs_strategy(self) -> str:
        return {"rolling": "ROLLING", "blue-green": "BLUE_GREEN", "canary": "CANARY", "linear": "LINEAR"}[self.value]


# Ranges and steps from the Amazon ECS API reference (DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration, DeploymentLifecycleHookTimeoutConfiguration).


def in_tenths(value: float) -> float:
    """canaryPercent and stepPercent are multiples of 0.1."""
    if abs(round(value * 10) - value * 10) > 1e-9:
        raise ValueError(f"{value:g} is not a multiple of 0.1, as ECS requires")
    return value


class CanaryConfig(Strict):
    """canaryConfiguration: ``percent`` of production traffic first, baked, then the rest."""

    percent: float = Field(default=10.0, ge=0.1, le=100, description="canaryPercent: 0.1 to 100 in steps of 0.1")
    bake_minutes: int = Field(default=2, ge=0, le=1440, description="canaryBakeTimeInMinutes, under the gates")

    @field_validator("percent")
    @classmethod
    def _tenths(cls, value: float) -> float:
        return in_tenths(value)


class LinearConfig(Strict):
    """linearConfiguration: production traffic in equal steps, each baked."""

    step_percent: float = Field(default=25.0, ge=3, le=100, description="stepPercent: 3 to 100 in steps of 0.1")
    step_bake_minutes: int = Field(default=2, ge=0, le=1440, description="stepBakeTimeInMinutes, under the gates")

    @field_validator("step_percent")
    @classmethod
    def _tenths(cls, value: float) -> float:
        return in_tenths(value)


class HookAction(StrEnum):
    rollback = "ROLLBACK"
    continue_ = "CONTINUE"


class HoldConfig(Strict):
    """A manual hold: after snailtrail's own test through the test listener passed and before any
    production traffic moves (POST_TEST_TRAFFIC_SHIFT), the deployment waits for `snailtrail promote` or
    `snailtrail abort`; snailtrail does not continue it by itself. ECS takes ``on_timeout`` after
    ``timeout_minutes``."""

    timeout_minutes: int = Field(default=60, ge=1, le=20160, description="timeoutInMinutes of the hold's hook")
    on_timeout: HookAction = Field(default=HookAction.rollback, description="ROLLBACK (default) or CONTINUE")


class GateConfig(Strict):
    """Live-traffic gates: the new revision against the old, from the load balancer's metrics, and the
    CloudWatch alarms named here (in ALARM during a bake: roll back)."""

    min_requests: int = Field(default=20, ge=1, description="new-revision requests before the traffic gates judge")
    max_error_rate_increase: float = Field(
        default=0.02, ge=0, le=1, description="5xx and connection-error rate above the old revision's"
    )
    max_latency_ratio: float = Field(default=1.5, ge=1, description="mean response time over the old revision's")
    min_latency_increase_ms: float = Field(
        default=50, ge=0, description="a latency ratio only fails above this many ms of difference"
    )
    allow_no_traffic: bool = Field(
        default=False,
        description="a bake that ends before min_requests reached the new revision passes with a warning "
        "instead of failing (for services without steady traffic)",
    )
    alarms: list[Name] = Field(
        default_factory=list, max_length=10, description="CloudWatch alarms snailtrail watches during every bake"
    )


REPLACED_STRATEGY_KEYS = {
    "steps": "canary: {percent, bake_minutes} or linear: {step_percent, step_bake_minutes}",
    "final_bake_s": "bake_minutes (ECS's bakeTimeInMinutes, after all production traffic moved)",
}


class StrategyConfig(Strict):
    """How a deploy moves the one service: ECS's own strategy, the PAUSE hooks snailtrail judges at,
    ECS's alarm rollback and snailtrail's gates."""

    kind: StrategyKind = StrategyKind.rolling
    bake_minutes: int = Field(
        default=2, ge=0, le=1440, description="bakeTimeInMinutes: old and new revisions both kept after the shift"
    )
    canary: CanaryConfig = Field(default_factory=CanaryConfig)
    linear: LinearConfig = Field(default_factory=LinearConfig)
    hold: HoldConfig | None = Field(
        default=None, description="wait for an operator's promote or abort before production traffic moves"
    )
    judge_timeout_minutes: int = Field(
        default=10,
        ge=1,
        le=20160,
        description="timeout of snailtrail's own PAUSE hooks: a snailtrail that died is rolled back by ECS then",
    )
    alarms: list[Name] = Field(
        default_factory=list,
        max_length=10,
        description="deploymentConfiguration.alarms: ECS rolls back by itself when one goes into ALARM",
    )
    gates: GateConfig = Field(default_factory=GateConfig)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in REPLACED_STRATEGY_KEYS.items():
                if old in data:
                    raise ValueError(f"strategy.{old} is gone (ECS moves the traffic now): use {new}")
        return data

    @property
    def native(self) -> bool:
        """Blue-green, canary or linear: a service deployment snailtrail judges at PAUSE hooks."""
        return self.kind is not StrategyKind.rolling
