"""Gates on live traffic: the new revision's error rate and latency against the old revision's, and the
CloudWatch alarms the strategy's gates name."""

from __future__ import annotations

from snailtrail.aws.cloudwatch import TrafficStats
from snailtrail.checks.base import CheckResult, fail, ok, skip
from snailtrail.config.strategy_config import GateConfig

FIX = (
    "the new revision answers real traffic worse than the old one: read its logs and the failing "
    "requests; the old revision kept serving"
)


def alarm_gate(firing: list[str], missing: list[str]) -> CheckResult:
    """Fail while an alarm the gates name is in ALARM; a named alarm that does not exist fails too, as a
    gate that can never fire would pass every deploy."""
    if missing:
        return fail(
            f"alarm(s) {', '.join(missing)} do not exist, so they could never stop this deploy",
            "create them in CloudWatch, or remove them from strategy.gates.alarms",
            missing,
        ).named("alarms")
    if firing:
        return fail(
            f"CloudWatch alarm(s) in ALARM: {', '.join(firing)}",
            "read what the alarm watches; the old revision takes the traffic back",
            firing,
        ).named("alarms")
    return ok("no gate alarm in ALARM").named("alarms")


def traffic_gate(new: TrafficStats, old: TrafficStats, gates: GateConfig, new_name: str, old_name: str) -> CheckResult:
    """Fail when the new revision errs or slows beyond the thresholds; skip until it has seen enough requests."""
    compared = f"{new_name}: {new.describe()}; {old_name}: {old.describe()}"
    if new.requests < gates.min_requests:
        return skip(f"too few requests to judge yet ({compared}; judging from {gates.min_requests})").named("traffic")
    increase = new.error_rate - old.error_rate
    if increase > gates.max_error_rate_increase:
        return fail(
            f"{new_name} errs on {new.error_rate:.1%} of requests, {increase:.1%} above {old_name} "
            f"(allowed {gates.max_error_rate_increase:.1%}): {compared}",
            FIX,
        ).named("traffic error rate")
    if new.mean_latency_s is not None and old.mean_latency_s is not None:
        slower_ms = (new.mean_latency_s - old.mean_latency_s) * 1000
        if (
            new.mean_latency_s > old.mean_latency_s * gates.max_latency_ratio
            and slower_ms > gates.min_latency_increase_ms
        ):
            return fail(
                f"{new_name} answers in {new.mean_latency_s * 1000:.0f} ms on average, "
                f"{new.mean_latency_s / old.mean_latency_s:.1f}x {old_name}'s (allowed {gates.max_latency_ratio}x): "
                f"{compared}",
                FIX,
            ).named("traffic latency")
    return ok(compared).named("traffic")
