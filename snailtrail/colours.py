"""Blue and green: which of the service's two colours takes traffic now, read from the account.

Without ``service.blue_green`` there is one colour, the configured service and target group, and
finding it costs no call. With it, one DescribeServices covers both colours: the one with tasks
wanted is live. When both or neither want tasks (a deploy stopped mid-canary, or both scaled to
zero), the old colour of a rollout in flight is live, else the weights of the environment's traffic
listener (or rule) decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.aws.ecs import EcsApi
from snailtrail.aws.elbv2 import Elbv2Api, forward_weights
from snailtrail.config import Settings
from snailtrail.inflight import InFlight
from snailtrail.traffic_route import resolve_route

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


def resolve_colours(settings: Settings, ecs: EcsApi, elbv2: Elbv2Api, inflight: InFlight) -> Colours:
    """Read from the account which colour is live; the in-flight record and the listener are read only
    when the desired counts leave it open."""
    service = settings.service
    blue = Colour(BLUE, service.name, service.load_balancer.target_group)
    if service.blue_green is None or service.green_name is None:
        return Colours(blue, None, {blue.service: ecs.describe_service(blue.service)})
    green = Colour(GREEN, service.green_name, service.blue_green.target_group)
    described = ecs.describe_services([blue.service, green.service])
    wanting = [c for c in (blue, green) if (described[c.service] or {}).get("desiredCount", 0) > 0]
    if len(wanting) == 1:
        live = wanting[0]
    elif described[green.service] is None:
        live = blue
    else:
        live = _from_rollout_in_flight(inflight, blue, green) or _by_listener_weight(settings, elbv2, blue, green)
    return Colours(live, green if live is blue else blue, described)


def _from_rollout_in_flight(inflight: InFlight, blue: Colour, green: Colour) -> Colour | None:
    """Mid-rollout, the old colour is live until the rollout commits, whatever the weights say."""
    record = inflight.read()
    if record is None:
        return None
    return next((c for c in (blue, green) if c.service == record.get("old_service")), None)


def _by_listener_weight(settings: Settings, elbv2: Elbv2Api, blue: Colour, green: Colour) -> Colour:
    balancer = elbv2.load_balancer(settings.service.load_balancer.name)
    if balancer is None:
        return blue
    weights = forward_weights(resolve_route(elbv2, settings, balancer).actions)
    by_name = {arn.rsplit("/", 2)[-2]: weight for arn, weight in weights.items()}
    return green if by_name.get(green.target_group, 0) > by_name.get(blue.target_group, 0) else blue
