"""Blue and green: which of the service's two colours takes traffic now, read from the account.

Without ``service.blue_green`` there is one colour, the configured service and target group, and
finding it costs no call. With it, one DescribeServices covers both colours: the one with tasks
wanted is live. When both or neither want tasks (a deploy stopped mid-canary, or both scaled to
zero), the old colour of a rollout in flight is live, else the weights of the environment's traffic
listener (or rule) decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from snailtrail.context import Context

BLUE, GREEN = "blue", "green"


@dataclass(frozen=True)
class Colour:
    name: str
    service: str
    target_group: str


@dataclass(frozen=True)
class Colours:
    live: Colour
    idle: Colour | None
    services: dict[str, dict[str, Any] | None]  # service name -> its description (None: missing)

    @property
    def live_service(self) -> dict[str, Any] | None:
        return self.services[self.live.service]


def resolve_colours(ctx: Context) -> Colours:
    service = ctx.settings.service
    blue = Colour(BLUE, service.name, service.load_balancer.target_group)
    if service.blue_green is None or service.green_name is None:
        return Colours(blue, None, {blue.service: ctx.ecs.describe_service(blue.service)})
    green = Colour(GREEN, service.green_name, service.blue_green.target_group)
    described = ctx.ecs.describe_services([blue.service, green.service])
    wanting = [c for c in (blue, green) if (described[c.service] or {}).get("desiredCount", 0) > 0]
    if len(wanting) == 1:
        live = wanting[0]
    elif described[green.service] is None:
        live = blue
    else:
        live = _from_rollout_in_flight(ctx, blue, green) or _by_listener_weight(ctx, blue, green)
    return Colours(live, green if live is blue else blue, described)


def _from_rollout_in_flight(ctx: Context, blue: Colour, green: Colour) -> Colour | None:
    """Mid-rollout, the old colour is live until the rollout commits, whatever the weights say."""
    record = ctx.inflight.read()
    if record is None:
        return None
    return next((c for c in (blue, green) if c.service == record.get("old_service")), None)


def _by_listener_weight(ctx: Context, blue: Colour, green: Colour) -> Colour:
    from snailtrail.aws.elbv2 import forward_weights
    from snailtrail.traffic_route import resolve_route

    balancer = ctx.elbv2.load_balancer(ctx.settings.service.load_balancer.name)
    if balancer is None:
        return blue
    weights = forward_weights(resolve_route(ctx.elbv2, ctx.settings, balancer).actions)
    by_name = {arn.rsplit("/", 2)[-2]: weight for arn, weight in weights.items()}
    return green if by_name.get(green.target_group, 0) > by_name.get(blue.target_group, 0) else blue
