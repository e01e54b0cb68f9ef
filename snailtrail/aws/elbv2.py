"""The load-balancer calls snailtrail makes, and the action lists it writes back."""

from __future__ import annotations

from typing import Any

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients

RULE_ARN_MARK = ":listener-rule/"  # arn:aws:elasticloadbalancing:...:listener-rule/app/... names a rule


class Elbv2Api:
    def __init__(self, clients: AwsClients) -> None:
        self._elb = clients.client("elbv2")

    def target_group(self, name: str) -> dict[str, Any] | None:
        return none_if_missing(
            "TargetGroupNotFound", lambda: self._elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        )

    def load_balancer(self, name: str) -> dict[str, Any] | None:
        return none_if_missing(
            "LoadBalancerNotFound", lambda: self._elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        )

    def deregistration_delay(self, target_group_arn: str) -> int:
        """Seconds a deregistered target drains before ECS may stop its task (300 unless changed)."""
        attributes = self._elb.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
        values = {a["Key"]: a["Value"] for a in attributes}
        return int(values.get("deregistration_delay.timeout_seconds", 300))

    def target_groups_by_arn(self, arns: list[str]) -> list[dict[str, Any]]:
        return self._elb.describe_target_groups(TargetGroupArns=arns)["TargetGroups"]

    def load_balancers_by_arn(self, arns: list[str]) -> list[dict[str, Any]]:
        return self._elb.describe_load_balancers(LoadBalancerArns=arns)["LoadBalancers"]

    def target_health(self, target_group_arn: str) -> list[dict[str, Any]]:
        return self._elb.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]

    def listeners(self, load_balancer_arn: str) -> list[dict[str, Any]]:
        pages = self._elb.get_paginator("describe_listeners").paginate(LoadBalancerArn=load_balancer_arn)
        return [listener for page in pages for listener in page["Listeners"]]

    def listener(self, load_balancer_arn: str, port: int) -> dict[str, Any] | None:
        return next((x for x in self.listeners(load_balancer_arn) if x["Port"] == port), None)

    def listener_by_arn(self, listener_arn: str) -> dict[str, Any]:
        return self._elb.describe_listeners(ListenerArns=[listener_arn])["Listeners"][0]

    def rules(self, listener_arn: str) -> list[dict[str, Any]]:
        """Every rule of a listener, its default rule included (priority "default")."""
        rules: list[dict[str, Any]] = []
        marker: dict[str, str] = {}
        while True:  # DescribeRules pages by Marker, and botocore has no paginator for it
            page = self._elb.describe_rules(ListenerArn=listener_arn, **marker)
            rules.extend(page["Rules"])
            if not page.get("NextMarker"):
                return rules
            marker = {"Marker": page["NextMarker"]}

    def rule(self, rule_arn: str) -> dict[str, Any]:
        return self._elb.describe_rules(RuleArns=[rule_arn])["Rules"][0]

    def set_actions(self, arn: str, actions: list[dict[str, Any]]) -> None:
        """One call: a listener's default actions (ModifyListener) or a rule's actions (ModifyRule)."""
        if RULE_ARN_MARK in arn:
            self._elb.modify_rule(RuleArn=arn, Actions=actions)
        else:
            self._elb.modify_listener(ListenerArn=arn, DefaultActions=actions)


def actions_of(listener_or_rule: dict[str, Any]) -> list[dict[str, Any]]:
    """A listener's default actions or a rule's actions, as described."""
    return listener_or_rule.get("DefaultActions") or listener_or_rule.get("Actions") or []


def forward_weights(actions: list[dict[str, Any]]) -> dict[str, int]:
    """Target group arn -> weight of the action list's forward action (a plain forward is 1)."""
    weights: dict[str, int] = {}
    for action in actions:
        if action.get("Type") != "forward":
            continue
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            weights[group["TargetGroupArn"]] = int(group.get("Weight", 1))
        if action.get("TargetGroupArn") and action["TargetGroupArn"] not in weights:
            weights[action["TargetGroupArn"]] = 1
    return weights
