"""Which periods of the load balancer's metrics the gates judge, and when."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from botocore.stub import ANY, Stubber

from snailtrail.aws.cloudwatch import MetricsTiming, TrafficMetrics, metrics_timing
from snailtrail.config.settings import EnvironmentConfig

ALB = MetricsTiming(period_s=60, delay_s=60)


def at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2026-11-25T{clock}+00:00")


def test_on_aws_the_gates_judge_only_minutes_cloudwatch_has_had_a_minute_to_publish() -> None:
    # At 12:03:10 the minute 12:02-12:03 ended 70 s ago but may still be on its way; 12:01-12:02 is in.
    assert ALB.judged_end(at("12:03:10")) == at("12:02:00")
    assert ALB.judged_end(at("12:03:59.999")) == at("12:02:00")
    assert ALB.judged_end(at("12:04:00")) == at("12:03:00")
    assert MetricsTiming(period_s=300, delay_s=60).judged_end(at("12:09:30")) == at("12:05:00")


def test_the_sandbox_judges_each_second_once_it_has_ended() -> None:
    sandbox = metrics_timing(EnvironmentConfig(kind="sandbox"))
    assert sandbox == MetricsTiming(period_s=1, delay_s=0)
    assert sandbox.judged_end(at("12:00:05.700")) == at("12:00:05")
    assert sandbox.shortest_bake_s == 1


def test_an_aws_environment_has_an_albs_timing() -> None:
    assert metrics_timing(EnvironmentConfig(kind="aws")) == ALB
    assert ALB.shortest_bake_s == 120
    assert metrics_timing(EnvironmentConfig(kind="aws", metrics_period_s=300)) == MetricsTiming(300, 60)


class OneClient:
    def __init__(self, client: Any) -> None:
        self._client = client

    def client(self, name: str) -> Any:
        return self._client


def test_the_query_ends_where_the_gates_judge_and_is_valid_for_cloudwatch() -> None:
    """Stubber checks the parameters against botocore's GetMetricData model."""
    import boto3

    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    balancer = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/shine-alb/50dc6c495c0c9188"
    group = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shine-tg-green/73e2d6bc24d8a067"
    step_started = at("12:00:20")
    end = ALB.judged_end(at("12:03:10"))
    with Stubber(client) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    # CloudWatch answers newest first; the minute holding the step's start counts.
                    {"Id": "g0_requests", "Timestamps": [at("12:01:00"), at("12:00:00")], "Values": [30.0, 10.0]},
                    {"Id": "g0_target5xx", "Timestamps": [at("12:01:00")], "Values": [3.0]},
                    {"Id": "g0_connerr", "Timestamps": [], "Values": []},
                    {"Id": "g0_latsum", "Timestamps": [at("12:01:00")], "Values": [4.0]},
                    {"Id": "g0_latcount", "Timestamps": [at("12:01:00")], "Values": [40.0]},
                ]
            },
            {
                "MetricDataQueries": ANY,
                "StartTime": step_started,
                "EndTime": at("12:02:00"),
            },
        )
        stats = TrafficMetrics(OneClient(client)).window(balancer, {group: step_started}, end, ALB.period_s)
        stub.assert_no_pending_responses()
    assert stats[group].requests == 40 and stats[group].errors == 3
    assert stats[group].mean_latency_s == 0.1


def test_the_shortest_bake_judges_the_minute_a_step_starts_in_and_a_second_less_may_not() -> None:
    for offset_s in range(60):
        started = at("12:02:00") + timedelta(seconds=offset_s)
        # The judged end is past the start: the minute holding it is complete and published.
        assert ALB.judged_end(started + timedelta(seconds=ALB.shortest_bake_s)) > started
    started = at("12:02:00")
    assert ALB.judged_end(started + timedelta(seconds=ALB.shortest_bake_s - 1)) <= started


def test_the_load_balancers_own_5xx_count_against_the_new_colour() -> None:
    """HTTPCode_ELB_5XX_Count has no TargetGroup dimension: asked per load balancer, in the same call."""
    import boto3

    client = boto3.client("cloudwatch", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
    balancer = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:loadbalancer/app/shine-alb/50dc6c495c0c9188"
    new = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shine-tg-alt/73e2d6bc24d8a067"
    old = "arn:aws:elasticloadbalancing:eu-west-1:111122223333:targetgroup/shine-tg/1e2d6bc24d8a0673"
    sent: list[dict] = []
    client.meta.events.register(
        "provide-client-params.cloudwatch.GetMetricData", lambda params, **_: sent.append(params)
    )
    with Stubber(client) as stub:
        stub.add_response(
            "get_metric_data",
            {
                "MetricDataResults": [
                    {"Id": "g0_elb5xx", "Timestamps": [at("12:01:00")], "Values": [7.0]},
                    {"Id": "g0_requests", "Timestamps": [at("12:01:00")], "Values": [50.0]},
                    {"Id": "g1_requests", "Timestamps": [at("12:01:00")], "Values": [50.0]},
                ]
            },
        )
        stats = TrafficMetrics(OneClient(client)).window(
            balancer, {new: at("12:00:20"), old: at("11:55:00")}, at("12:02:00"), ALB.period_s
        )
    assert stats[new].errors == 7 and stats[old].errors == 0
    (elb,) = [q for q in sent[0]["MetricDataQueries"] if q["Id"] == "g0_elb5xx"]
    assert elb["MetricStat"]["Metric"]["MetricName"] == "HTTPCode_ELB_5XX_Count"
    assert elb["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "LoadBalancer", "Value": "app/shine-alb/50dc6c495c0c9188"}
    ]
