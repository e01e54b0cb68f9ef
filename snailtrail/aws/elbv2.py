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

    def target_health(self, target_group_arn: str) -> list[dict[str, Any]]:
        return self._elb.describe_target_health(TargetGroupArn=target_group_arn)["TargetHealthDescriptions"]
