"""How long a rollout may take before it counts as failed: what ECS itself needs to finish one.

ECS completes a deployment only once the new tasks pass the load balancer's health checks and the
old tasks have drained from the target group. A fixed timeout shorter than that rolls back good
deploys; so the budget is read from the target group the new tasks join.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snailtrail.context import Context

# Pulling the image, starting the container and registering it as a target, before health checks.
START_ALLOWANCE_S = 120
# A target group's defaults, used when it does not exist yet.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/target-group-health-checks.html
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay
DEFAULT_INTERVAL_S = 30
DEFAULT_HEALTHY_THRESHOLD = 5
DEFAULT_DEREGISTRATION_DELAY_S = 300


@dataclass(frozen=True)
class RolloutBudget:
    seconds: float
    explanation: str


def rollout_budget(ctx: Context, target_group_name: str, grace_s: int) -> RolloutBudget:
    """Start allowance + the health-check grace + interval x healthy threshold + deregistration delay."""
    group = ctx.elbv2.target_group(target_group_name)
    if group is None:
        interval, threshold, delay = DEFAULT_INTERVAL_S, DEFAULT_HEALTHY_THRESHOLD, DEFAULT_DEREGISTRATION_DELAY_S
        source = f"{target_group_name} does not exist yet: AWS defaults"
    else:
        interval = int(group.get("HealthCheckIntervalSeconds", DEFAULT_INTERVAL_S))
        threshold = int(group.get("HealthyThresholdCount", DEFAULT_HEALTHY_THRESHOLD))
        delay = ctx.elbv2.deregistration_delay(group["TargetGroupArn"])
        source = f"from {target_group_name}"
    seconds = START_ALLOWANCE_S + grace_s + interval * threshold + delay
    explanation = (
        f"{seconds} s = {START_ALLOWANCE_S} s to start + {grace_s} s grace + {threshold} x {interval} s health checks "
        f"+ {delay} s deregistration delay ({source}); --timeout overrides it"
    )
    return RolloutBudget(float(seconds), explanation)


def rollout_timeout(ctx: Context, grace_s: int, explicit: float | None) -> RolloutBudget:
    """--timeout when given, else the budget of the service's target group (the alternate has the same settings)."""
    if explicit is not None:
        return RolloutBudget(explicit, f"{explicit:.0f} s (--timeout)")
    return rollout_budget(ctx, ctx.settings.service.load_balancer.target_group, grace_s)
