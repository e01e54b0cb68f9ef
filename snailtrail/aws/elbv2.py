"""The load-balancer calls snailtrail makes."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients


class Elbv2Api:
    def __init__(self, clients: AwsClients) -> None:
        self._elb = clients.client("elbv2")

    def target_group(self, name: str) -> dict[str, Any] | None:
        try:
            return self._elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "TargetGroupNotFound":
                return None
            raise

    def load_balancer(self, name: str) -> dict[str, Any] | None:
        try:
            return self._elb.describe_load_balancers(Names=[name])["LoadBalancers"][0]
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "LoadBalancerNotFound":
                return None
            raise

    def deregistration_delay(self, target_group_arn: str) -> int:
        """Seconds a deregistered target drains before ECS may stop its task (300 unless changed)."""
        attributes = self._elb.describe_target_group_attributes(TargetGroupArn=target_group_arn)["Attributes"]
        values = {a["Key"]: a["Value"] for a in attributes}
        return int(values.get("deregistration_delay.timeout_seconds", 300))

    def target_health(self, target_group_arn: str) -> list[dict[str, Any]]:
        return self._elb.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]

    def listener(self, load_balancer_arn: str, port: int) -> dict[str, Any] | None:
        listeners = self._elb.describe_listeners(LoadBalancerArn=load_balancer_arn)["Listeners"]
        return next((x for x in listeners if x["Port"] == port), None)

    def forward_to(self, listener_arn: str, weights: dict[str, int]) -> None:
        """One ModifyListener: the default action forwards to these target groups by weight.

        Every weight changes in the same call, so traffic moves between colours at once, with no
        moment where neither or both take it by accident.
        """
        groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
        self._elb.modify_listener(
            ListenerArn=listener_arn,
            DefaultActions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}],
        )


def forward_weights(listener: dict[str, Any]) -> dict[str, int]:
    """Target group arn -> weight of the listener's default forward action (a plain forward is 1)."""
    weights: dict[str, int] = {}
    for action in listener.get("DefaultActions", []):
        if action.get("Type") != "forward":
            continue
        for group in (action.get("ForwardConfig") or {}).get("TargetGroups") or []:
            weights[group["TargetGroupArn"]] = int(group.get("Weight", 1))
        if action.get("TargetGroupArn") and action["TargetGroupArn"] not in weights:
            weights[action["TargetGroupArn"]] = 1
    return weights
