"""The load-balancer calls snailtrail makes, and the action lists it writes back."""

from __future__ import annotations

import copy
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

    def set_actions(self, arn: str, actions: list[dict[str, Any]]) -> None:
        """One call: a listener's default actions (ModifyListener) or a rule's actions (ModifyRule)."""
        if RULE_ARN_MARK in arn:
            self._elb.modify_rule(RuleArn=arn, Actions=actions)
        else:
            self._elb.modify_listener(ListenerArn=arn, DefaultActions=actions)

    def forward_to(self, arn: str, weights: dict[str, int]) -> None:
        """Replace a listener's (or a rule's) whole action list with one weighted forward: only for the
        blue-green test listener, which snailtrail owns; production traffic moves through `with_forward_weights`."""
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        self.set_actions(arn, [{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}])


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


def writable(actions: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A described action list as ModifyListener/ModifyRule accept it back, unchanged in effect.

    Describe calls never return an OIDC action's client secret; a modify call keeps the existing one
    only with UseExistingClientSecret (AWS API reference, AuthenticateOidcActionConfig: "If you are
    modifying a rule, you can omit this parameter if you set UseExistingClientSecret to true").
    """
    copied = copy.deepcopy(actions)
    for action in copied:
        oidc = action.get("AuthenticateOidcConfig")
        if oidc is not None:
            oidc.pop("ClientSecret", None)
            oidc["UseExistingClientSecret"] = True
    return copied


def with_forward_weights(actions: list[dict[str, Any]], weights: dict[str, int]) -> list[dict[str, Any]]:
    """The action list with only the weights of the given target groups replaced in its forward.

    Every other action (authenticate-oidc/cognito before the forward, with its Order) and the
    forward's own settings (TargetGroupStickinessConfig, Order) are kept, and so is every other target
    group of the forward with its weight (another app's, on a shared rule). TargetGroupArn goes: AWS
    accepts it beside a ForwardConfig only when both name the same single group (AWS API reference,
    Action.TargetGroupArn).
    """
    rewritten = writable(actions)
    for action in rewritten:
        if action.get("Type") == "forward":
            merged = forward_weights([action]) | weights
            action.pop("TargetGroupArn", None)
            action["ForwardConfig"] = {
                **(action.get("ForwardConfig") or {}),
                "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in merged.items()],
            }
    return rewritten
