"""Which forward a rollout moves, on load balancers shaped as production ones are (in-process moto)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from snailtrail.aws.elbv2 import Elbv2Api, forward_weights
from snailtrail.aws.session import AwsClients
from snailtrail.config import Settings, load_settings
from snailtrail.errors import ConfigError
from snailtrail.traffic_route import Forwarder, forwarders, require_forward, resolve_route, restore_actions
from tests.conftest import write_config

OIDC = {
    "Issuer": "https://idp.example.com",
    "AuthorizationEndpoint": "https://idp.example.com/authorize",
    "TokenEndpoint": "https://idp.example.com/token",
    "UserInfoEndpoint": "https://idp.example.com/userinfo",
    "ClientId": "shine",
    "ClientSecret": "not-returned-by-aws",
}
STICKY = {"Enabled": True, "DurationSeconds": 300}


class Alb:
    """shine-alb as production runs it: 80 redirects to 443, which authenticates, then forwards (sticky)."""

    def __init__(self) -> None:
        ec2 = boto3.client("ec2", region_name="us-east-1")
        self.elbv2 = boto3.client("elbv2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = [
            ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
                "SubnetId"
            ]
            for i, z in ((1, "a"), (2, "b"))
        ]
        self.arn = self.elbv2.create_load_balancer(Name="shine-alb", Subnets=subnets)["LoadBalancers"][0][
            "LoadBalancerArn"
        ]
        self.blue, self.green = (
            self.elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip")[
                "TargetGroups"
            ][0]
            for name in ("shine-tg", "shine-tg-green")
        )
        redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
        self.http = self.elbv2.create_listener(
            LoadBalancerArn=self.arn,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}],
        )["Listeners"][0]
        certificate = boto3.client("acm", region_name="us-east-1").request_certificate(DomainName="shine.example.com")[
            "CertificateArn"
        ]
        self.https = self.elbv2.create_listener(
            LoadBalancerArn=self.arn,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": certificate}],
            DefaultActions=[
                {"Type": "authenticate-oidc", "Order": 1, "AuthenticateOidcConfig": OIDC},
                {
                    "Type": "forward",
                    "Order": 2,
                    "ForwardConfig": {
                        "TargetGroups": [{"TargetGroupArn": self.blue["TargetGroupArn"]}],
                        "TargetGroupStickinessConfig": STICKY,
                    },
                },
            ],
        )["Listeners"][0]

    def actions(self, listener: dict[str, Any]) -> list[dict[str, Any]]:
        return self.elbv2.describe_listeners(ListenerArns=[listener["ListenerArn"]])["Listeners"][0]["DefaultActions"]

    def weights(self, actions: list[dict[str, Any]]) -> dict[str, int]:
        return {arn.rsplit("/", 2)[-2]: weight for arn, weight in forward_weights(actions).items()}


@pytest.fixture
def alb(aws_env: None) -> Iterator[Alb]:
    from moto import mock_aws

    with mock_aws():
        yield Alb()


def settings(root: Path, **traffic: int) -> Settings:
    # This module's own load balancer has no service rule: traffic moves on a listener unless told otherwise.
    return load_settings(str(write_config(root, "https://shine.example.com", traffic=traffic or None)))


def balancer(alb: Alb) -> dict[str, Any]:
    return alb.elbv2.describe_load_balancers(LoadBalancerArns=[alb.arn])["LoadBalancers"][0]


def test_a_redirecting_listener_is_refused_naming_the_listener_that_forwards(alb: Alb, tmp_path: Path) -> None:
    config = settings(tmp_path)  # service.load_balancer.listener_port: 80, the redirect
    api = Elbv2Api(AwsClients(config.environment))
    route = resolve_route(api, config, balancer(alb))
    with pytest.raises(ConfigError) as refused:
        require_forward(api, config, route, alb.arn, alb.blue)
    assert "listener 80 of shine-alb answers with redirect, not a forward" in refused.value.message
    assert "traffic: {listener_port: 443}" in (refused.value.fix or "")


def test_canary_weights_on_443_keep_the_redirect_the_authentication_and_stickiness(alb: Alb, tmp_path: Path) -> None:
    config = settings(tmp_path, listener_port=443)
    api = Elbv2Api(AwsClients(config.environment))
    route = resolve_route(api, config, balancer(alb))
    require_forward(api, config, route, alb.arn, alb.blue)
    before = alb.actions(alb.https)

    api.set_actions(route.arn, route.weighted({alb.blue["TargetGroupArn"]: 90, alb.green["TargetGroupArn"]: 10}))

    moved = alb.actions(alb.https)
    assert [(a["Type"], a["Order"]) for a in moved] == [("authenticate-oidc", 1), ("forward", 2)]
    assert moved[0]["AuthenticateOidcConfig"]["ClientId"] == "shine"
    assert moved[1]["ForwardConfig"]["TargetGroupStickinessConfig"] == STICKY
    assert alb.weights(moved) == {"shine-tg": 90, "shine-tg-green": 10}
    assert alb.actions(alb.http)[0]["Type"] == "redirect"

    api.set_actions(route.arn, restore_actions(route, alb.blue["TargetGroupArn"], alb.green["TargetGroupArn"]))
    restored = alb.actions(alb.https)
    assert restored[1] == before[1]  # the forward exactly as it was: one group, sticky
    assert restored[0]["Order"] == 1 and restored[0]["AuthenticateOidcConfig"]["Issuer"] == OIDC["Issuer"]


def test_a_listener_rule_moves_only_its_own_forward(alb: Alb, tmp_path: Path) -> None:
    alb.elbv2.modify_listener(
        ListenerArn=alb.https["ListenerArn"],
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )
    conditions = [{"Field": "host-header", "Values": ["shine.example.com"]}]
    alb.elbv2.create_rule(
        ListenerArn=alb.https["ListenerArn"],
        Priority=10,
        Conditions=conditions,
        Actions=[
            {
                "Type": "forward",
                "ForwardConfig": {
                    "TargetGroups": [{"TargetGroupArn": alb.blue["TargetGroupArn"]}],
                    "TargetGroupStickinessConfig": STICKY,
                },
            }
        ],
    )
    config = settings(tmp_path, listener_port=443, rule_priority=10)
    api = Elbv2Api(AwsClients(config.environment))
    route = resolve_route(api, config, balancer(alb))
    assert route.where == "rule 10 of listener 443 of shine-alb"
    require_forward(api, config, route, alb.arn, alb.blue)

    api.set_actions(route.arn, route.weighted({alb.blue["TargetGroupArn"]: 0, alb.green["TargetGroupArn"]: 100}))

    rule = next(
        r for r in alb.elbv2.describe_rules(ListenerArn=alb.https["ListenerArn"])["Rules"] if r["Priority"] == "10"
    )
    assert alb.weights(rule["Actions"]) == {"shine-tg": 0, "shine-tg-green": 100}
    assert rule["Actions"][0]["ForwardConfig"]["TargetGroupStickinessConfig"] == STICKY
    assert rule["Conditions"][0]["Values"] == ["shine.example.com"]
    assert alb.actions(alb.https)[0]["Type"] == "fixed-response"


def test_a_missing_rule_is_refused_listing_the_rules_there_are(alb: Alb, tmp_path: Path) -> None:
    config = settings(tmp_path, listener_port=443, rule_priority=7)
    with pytest.raises(ConfigError) as refused:
        resolve_route(Elbv2Api(AwsClients(config.environment)), config, balancer(alb))
    assert "no rule with priority 7" in refused.value.message
    assert "traffic.rule_priority" in (refused.value.fix or "")


def test_every_listener_and_rule_still_sending_a_colour_traffic_is_found(alb: Alb, tmp_path: Path) -> None:
    blue = alb.blue["TargetGroupArn"]
    alb.elbv2.create_rule(
        ListenerArn=alb.https["ListenerArn"],
        Priority=5,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": blue}],
    )
    api = Elbv2Api(AwsClients(settings(tmp_path).environment))
    assert forwarders(api, alb.arn, blue) == [Forwarder(443, None), Forwarder(443, "5")]
    assert forwarders(api, alb.arn, alb.green["TargetGroupArn"]) == []
