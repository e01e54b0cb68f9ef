"""How many tasks a deploy or rollback asks for: never fewer than run now, within autoscaling's bounds.

Sending the phase file's count would shrink a service that autoscaling grew, in the middle of an
incident; ecspresso keeps the live count for the same reason (kayac/ecspresso#42).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.context import Context
from snailtrail.errors import ConfigError

# The scalable dimension of an ECS service's task count.
# https://docs.aws.amazon.com/autoscaling/application/APIReference/API_DescribeScalableTargets.html
ECS_DESIRED_COUNT = "ecs:service:DesiredCount"


@dataclass(frozen=True)
class ScalingBounds:
    """An Application Auto Scaling target on the service: it moves the count between these."""

    resource_id: str
    minimum: int
    maximum: int

    def to_json(self) -> dict[str, Any]:
        return {"resource_id": self.resource_id, "min": self.minimum, "max": self.maximum}


@dataclass(frozen=True)
class DesiredCount:
    count: int
    reason: str
    bounds: ScalingBounds | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "count": self.count,
            "reason": self.reason,
            "autoscaling": self.bounds.to_json() if self.bounds else None,
        }


def scaling_bounds(autoscaling: Any, cluster: str, service: str) -> ScalingBounds | None:
    """The service's scalable target, or None when Application Auto Scaling does not manage it."""
    resource_id = f"service/{cluster}/{service}"
    found = autoscaling.describe_scalable_targets(
        ServiceNamespace="ecs", ResourceIds=[resource_id], ScalableDimension=ECS_DESIRED_COUNT
    )["ScalableTargets"]
    if not found:
        return None
    return ScalingBounds(resource_id, found[0]["MinCapacity"], found[0]["MaxCapacity"])


def desired_count(
    phase_count: int, live_count: int | None, requested: int | None, bounds: ScalingBounds | None
) -> DesiredCount:
    """``requested`` (--desired-count) if given, else the larger of the live and the phase's count;
    kept within the autoscaling bounds, which would otherwise move it back at once."""
    if requested is not None:
        if bounds is not None and not bounds.minimum <= requested <= bounds.maximum:
            raise ConfigError(
                f"--desired-count {requested} is outside the autoscaling bounds {bounds.minimum}-{bounds.maximum} "
                f"of {bounds.resource_id}",
                fix="pass a count within them, or change the scalable target's min/max capacity",
            )
        return DesiredCount(requested, "--desired-count", bounds)
    if live_count is not None and live_count > phase_count:
        count, reason = live_count, f"the live count (the phase asks {phase_count}; a deploy never shrinks)"
    else:
        count, reason = phase_count, "the phase's desired_count"
    if bounds is not None and not bounds.minimum <= count <= bounds.maximum:
        clamped = min(max(count, bounds.minimum), bounds.maximum)
        reason = f"{reason}, kept within the autoscaling bounds {bounds.minimum}-{bounds.maximum} (was {count})"
        count = clamped
    elif bounds is not None:
        reason = f"{reason}; autoscaling manages it ({bounds.minimum}-{bounds.maximum})"
    return DesiredCount(count, reason, bounds)


def planned_count(
    ctx: Context, phase_count: int, service: dict[str, Any] | None, requested: int | None
) -> DesiredCount:
    """The count for ``service`` (None: about to be created, so nothing runs and nothing scales it)."""
    if service is None:
        return desired_count(phase_count, None, requested, None)
    bounds = scaling_bounds(
        ctx.clients.client("application-autoscaling"), ctx.settings.service.cluster, service["serviceName"]
    )
    return desired_count(phase_count, service.get("desiredCount"), requested, bounds)
