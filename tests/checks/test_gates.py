"""The traffic gate: when the new revision's live traffic is judged worse than the old revision's."""

from __future__ import annotations

from snailtrail.aws.cloudwatch import TrafficStats
from snailtrail.checks.base import Status
from snailtrail.checks.gates import traffic_gate
from snailtrail.config.strategy_config import GateConfig

GATES = GateConfig(min_requests=20, max_error_rate_increase=0.02, max_latency_ratio=1.5, min_latency_increase_ms=50)
OLD = TrafficStats(requests=1000, errors=10, mean_latency_s=0.100)


def judge(new: TrafficStats) -> tuple[Status, str, str]:
    verdict = traffic_gate(new, OLD, GATES, "green", "blue")
    return verdict.status, verdict.name, verdict.summary


def test_too_few_requests_are_not_judged() -> None:
    status, _, summary = judge(TrafficStats(requests=19, errors=19, mean_latency_s=0.1))
    assert status is Status.SKIP and "judging from 20" in summary


def test_an_error_rate_above_the_old_colours_plus_the_tolerance_fails() -> None:
    status, name, summary = judge(TrafficStats(requests=100, errors=4, mean_latency_s=0.1))
    assert status is Status.FAIL and name == "traffic error rate" and "4.0%" in summary
    assert judge(TrafficStats(requests=100, errors=2, mean_latency_s=0.1))[0] is Status.PASS  # 1 point above


def test_latency_fails_only_when_both_the_ratio_and_the_absolute_difference_are_exceeded() -> None:
    assert judge(TrafficStats(requests=100, errors=0, mean_latency_s=0.200))[1] == "traffic latency"
    assert judge(TrafficStats(requests=100, errors=0, mean_latency_s=0.140))[0] is Status.PASS  # 1.4x
    fast_old = TrafficStats(requests=1000, errors=0, mean_latency_s=0.002)
    # 3x of 2 ms is 6 ms: a ratio that large is noise below the absolute floor.
    verdict = traffic_gate(TrafficStats(100, 0, 0.006), fast_old, GATES, "green", "blue")
    assert verdict.status is Status.PASS
