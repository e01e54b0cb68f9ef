"""A target group's live traffic from the load balancer's CloudWatch metrics (AWS/ApplicationELB)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from snailtrail.config.settings import EnvironmentConfig, EnvironmentKind

if TYPE_CHECKING:
    from snailtrail.aws.session import AwsClients

NAMESPACE = "AWS/ApplicationELB"
# "If there are requests flowing through the load balancer, Elastic Load Balancing measures and sends its
# metrics in 60-second intervals": the AWS/ApplicationELB metrics are regular resolution, so a query's
# Period is a multiple of 60 (GetMetricData, MetricStat.Period), and a minute's data point reaches
# CloudWatch only after that minute has ended, up to another interval later.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
ALB_PERIOD_S = 60
ALB_PUBLICATION_DELAY_S = 60
# query id suffix -> (metric, statistic): a mean latency over a window is Sum / SampleCount,
# never an average of per-period averages.
_QUERIES = {
    "requests": ("RequestCount", "Sum"),
    "target5xx": ("HTTPCode_Target_5XX_Count", "Sum"),
    "connerr": ("TargetConnectionErrorCount", "Sum"),
    "latsum": ("TargetResponseTime", "Sum"),
    "latcount": ("TargetResponseTime", "SampleCount"),
}


@dataclass(frozen=True)
class TrafficStats:
    requests: int
    errors: int  # target 5xx, connections the target refused or dropped, and (the new colour's) the ELB's own 5xx
    mean_latency_s: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def describe(self) -> str:
        latency = f"{self.mean_latency_s * 1000:.0f} ms" if self.mean_latency_s is not None else "no latency"
        return f"{self.requests} requests, {self.error_rate:.1%} errors, {latency}"


@dataclass(frozen=True)
class MetricsTiming:
    """When the load balancer's metrics can be judged: their period, and how long after a period ends
    its data point is published."""

    period_s: int
    delay_s: int

    @property
    def shortest_bake_s(self) -> int:
        """A bake that can see at least one published period: the period the step begins in, then the delay."""
        return self.period_s + self.delay_s

    def judged_end(self, now: datetime) -> datetime:
        """The end of the last complete period published by ``now``: the gates judge nothing later, so a
        period still being collected or not yet published never counts as a quiet one."""
        published = now.timestamp() - self.delay_s
        return datetime.fromtimestamp(published - published % self.period_s, UTC)


def metrics_timing(environment: EnvironmentConfig) -> MetricsTiming:
    """An ALB's timing on AWS; the sandbox's front door publishes each second as soon as it ends."""
    if environment.kind is EnvironmentKind.sandbox:
        return MetricsTiming(environment.metrics_period_s or 1, 0)
    return MetricsTiming(environment.metrics_period_s or ALB_PERIOD_S, ALB_PUBLICATION_DELAY_S)


def dimension(arn: str) -> str:
    """A load balancer's or target group's CloudWatch dimension value: its ARN's resource part."""
    resource = arn.split(":", 5)[-1]
    return resource.removeprefix("loadbalancer/")


class TrafficMetrics:
    def __init__(self, clients: AwsClients) -> None:
        self._cloudwatch = clients.client("cloudwatch")

    def window(
        self, load_balancer_arn: str, since: dict[str, datetime], end: datetime, period_s: int
    ) -> dict[str, TrafficStats]:
        """Each target group's traffic from its own start (``since``) to ``end``, in one GetMetricData
        call: the periods are summed from the one holding that start, as CloudWatch rounds a start down.

        The load balancer's own 5xx (HTTPCode_ELB_5XX_Count: 502, 503, 504 when a target resets, refuses or
        times out) are published per load balancer only, never per target group: they are counted from the
        first group's start and added to that group's errors (the new colour's, which the caller lists first).
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/load-balancer-cloudwatch-metrics.html
        """
        arns = list(since)
        queries = [
            {
                "Id": "g0_elb5xx",
                "MetricStat": {
                    "Metric": {
                        "Namespace": NAMESPACE,
                        "MetricName": "HTTPCode_ELB_5XX_Count",
                        "Dimensions": [{"Name": "LoadBalancer", "Value": dimension(load_balancer_arn)}],
                    },
                    "Period": period_s,
                    "Stat": "Sum",
                },
            }
        ]
        for index, arn in enumerate(arns):
            dimensions = [
                {"Name": "LoadBalancer", "Value": dimension(load_balancer_arn)},
                {"Name": "TargetGroup", "Value": dimension(arn)},
            ]
            for suffix, (metric, statistic) in _QUERIES.items():
                queries.append(
                    {
                        "Id": f"g{index}_{suffix}",
                        "MetricStat": {
                            "Metric": {"Namespace": NAMESPACE, "MetricName": metric, "Dimensions": dimensions},
                            "Period": period_s,
                            "Stat": statistic,
                        },
                    }
                )
        first = {f"g{index}": since[arn] - timedelta(seconds=period_s) for index, arn in enumerate(arns)}
        totals: dict[str, float] = {}
        paginator = self._cloudwatch.get_paginator("get_metric_data")
        for page in paginator.paginate(MetricDataQueries=queries, StartTime=min(since.values()), EndTime=end):
            for result in page["MetricDataResults"]:
                group = result["Id"].split("_", 1)[0]
                totals[result["Id"]] = totals.get(result["Id"], 0.0) + sum(
                    value
                    for at, value in zip(result.get("Timestamps", []), result.get("Values", []), strict=False)
                    if at > first[group]
                )
        stats = {}
        for index, arn in enumerate(arns):
            value = {suffix: totals.get(f"g{index}_{suffix}", 0.0) for suffix in _QUERIES}
            balancer_errors = totals.get("g0_elb5xx", 0.0) if index == 0 else 0.0
            stats[arn] = TrafficStats(
                requests=int(value["requests"]),
                errors=int(value["target5xx"] + value["connerr"] + balancer_errors),
                mean_latency_s=value["latsum"] / value["latcount"] if value["latcount"] else None,
            )
        return stats


def alarms_in_alarm(clients: AwsClients, names: list[str]) -> tuple[list[str], list[str]]:
    """Of the named CloudWatch alarms: those in ALARM now, and those that do not exist."""
    if not names:
        return [], []
    found = clients.client("cloudwatch").describe_alarms(AlarmNames=names, AlarmTypes=["MetricAlarm", "CompositeAlarm"])
    alarms = found.get("MetricAlarms", []) + found.get("CompositeAlarms", [])
    firing = [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    known = {a["AlarmName"] for a in alarms}
    return firing, [name for name in names if name not in known]
