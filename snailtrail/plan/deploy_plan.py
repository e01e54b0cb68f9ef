"""What a deploy will do, decided before anything changes: its options, steps and diffs.

``plan`` and ``deploy --dry-run`` print this and stop; ``deploy`` hands it to the executor, which runs
the very step objects printed. snailtrail/plan/planner.py builds it, with read-only calls only.
"""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Any

from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.config.strategy_config import StrategyConfig, StrategyKind
from snailtrail.errors import ConfigError
from snailtrail.plan.capacity import DesiredCount
from snailtrail.plan.steps import Step
from snailtrail.plan.taskdef import Revision, normalize
from snailtrail.redaction import redact_value
from snailtrail.run.native_setup import NativeSetup


@dataclass(frozen=True)
class DeployOptions:
    image: str | None = None
    build: bool = True
    build_args: dict[str, str] = field(default_factory=dict)
    smoke: bool = True
    timeout_s: float = 600.0
    timeout_explained: str | None = None  # how timeout_s was derived (rollout_budget), said in the plan
    rollback: bool = True
    create: bool = False  # --yes: the operator agreed to create a missing service
    poll_interval_s: float = 5.0
    strategy: StrategyKind | None = None  # --strategy: overrides the phase's and the environment's
    desired_count: int | None = None  # --desired-count: else never fewer tasks than run now


@dataclass
class DeployPlan:
    service_name: str
    phase: Phase
    environment: str
    options: DeployOptions
    rendered: dict[str, Any]
    service: dict[str, Any] | None
    live_definition: dict[str, Any] | None
    identical: Revision | None
    rollback_target: Revision | None
    strategy: StrategyConfig
    desired: DesiredCount
    native_setup: NativeSetup | None = None  # the rules, groups and role of a native deployment
    steps: list[Step] = field(default_factory=list)

    @property
    def creates_service(self) -> bool:
        return self.service is None

    @property
    def native(self) -> bool:
        """Blue-green, canary or linear, with a running revision to compare against and fall back to."""
        return self.strategy.native and (self.service or {}).get("desiredCount", 0) > 0

    def require_consent(self, settings: Settings) -> None:
        """Creating a service is never a surprise: --yes or the environment's opt-in."""
        if self.creates_service and not (self.options.create or settings.environment.create_service_if_missing):
            raise ConfigError(
                f"service {settings.service.name} does not exist in cluster {settings.service.cluster}",
                fix="pass --yes to create it from the manifest, or set create_service_if_missing: true "
                f"on environment {settings.environment_name}",
            )

    def desired_service(self) -> dict[str, Any]:
        spec = self.phase.container
        return {
            "taskDefinition": self.identical.arn if self.identical else "<new revision>",
            "desiredCount": self.desired.count,
            "healthCheckGracePeriodSeconds": spec.health_check.grace_period_s,
        }

    def live_service(self) -> dict[str, Any]:
        if self.service is None:
            return {}
        return {
            "taskDefinition": self.service.get("taskDefinition"),
            "desiredCount": self.service.get("desiredCount"),
            # Unset is ECS's default, 0 (API reference, CreateService healthCheckGracePeriodSeconds).
            "healthCheckGracePeriodSeconds": self.service.get("healthCheckGracePeriodSeconds") or 0,
        }

    def task_definition_diff(self) -> str:
        # The live revision may hold what the phases refuse now (DB_PASSWORD=...): both sides redacted.
        live = redact_value(normalize(self.live_definition)) if self.live_definition else {}
        return _diff(live, redact_value(normalize(self.rendered)), "live task definition", "rendered task definition")

    def service_diff(self) -> str:
        return _diff(self.live_service(), self.desired_service(), "live service", "after deploy")

    def to_json(self) -> dict[str, Any]:
        return {
            "phase": self.phase.name,
            "environment": self.environment,
            "creates_service": self.creates_service,
            "strategy": self.strategy.kind.value if self.native else StrategyKind.rolling.value,
            "live_service": self.service_name,
            "reuses_task_definition": self.identical.arn if self.identical else None,
            "rollback_target": self.rollback_target.arn if self.rollback_target else None,
            "desired_count": self.desired.to_json(),
            "steps": [s.to_json() for s in self.steps],
            "task_definition_diff": self.task_definition_diff(),
            "service_diff": self.service_diff(),
        }


def _diff(before: dict[str, Any], after: dict[str, Any], before_name: str, after_name: str) -> str:
    lines = difflib.unified_diff(
        json.dumps(before, indent=2, sort_keys=True).splitlines(),
        json.dumps(after, indent=2, sort_keys=True).splitlines(),
        fromfile=before_name,
        tofile=after_name,
        lineterm="",
    )
    return "\n".join(lines)
