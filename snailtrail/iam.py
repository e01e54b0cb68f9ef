"""The least-privilege IAM policy each kind of run needs: the exact calls snailtrail makes."""

from __future__ import annotations

from typing import Any

from snailtrail.aws.session import partition_of, resolved_region
from snailtrail.config import Settings

READ_ONLY = [
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeRules",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeSubnets",
    "ec2:DescribeRouteTables",
    "ec2:DescribeVpcEndpoints",
    "route53:ListHostedZonesByName",
    "route53:ListHostedZones",  # `init --from-service`: the public record that aliases the load balancer
    "route53:ListResourceRecordSets",
    "iam:GetRole",
    "logs:DescribeLogGroups",
    "logs:GetLogEvents",  # a failed rollout's stopped tasks, `snailtrail logs`
    "logs:FilterLogEvents",
    "ssm:DescribeParameters",
    "secretsmanager:DescribeSecret",
    "ecr:DescribeImages",
    "ecr:DescribeRepositories",
    "tag:GetResources",
    "application-autoscaling:DescribeScalableTargets",
]
STATE_READ = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
# Each deploy write on the resources it touches. Resource types per action come from the Service
# Authorization Reference: https://docs.aws.amazon.com/service-authorization/latest/reference/
# (list_amazonelasticcontainerservice, list_amazonelasticcontainerregistry, list_awselasticloadbalancingv2).
SERVICE_WRITE = ["ecs:UpdateService", "ecs:CreateService"]
# RegisterTaskDefinition with tags, CreateService with tags and the "verified" mark all need TagResource.
TAG_WRITE = ["ecs:TagResource"]
# Pushing an image: the layer and manifest calls of the Docker registry API, and BatchGetImage,
# which docker push needs to ask whether a manifest is already there (HEAD .../manifests/TAG).
IMAGE_PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:InitiateLayerUpload",
    "ecr:UploadLayerPart",
    "ecr:CompleteLayerUpload",
    "ecr:PutImage",
    "ecr:BatchGetImage",
]
# These actions have no resource type: AWS accepts them only on "*".
UNSCOPED_DEPLOY = ["ecs:RegisterTaskDefinition", "ecr:GetAuthorizationToken"]
# Blue-green and canary only: the traffic shifts (the load balancer's listeners and rules), the gates' metrics.
LISTENER_WRITE = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"]
UNSCOPED_TRAFFIC = ["cloudwatch:GetMetricData"]
STATE_WRITE = ["dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"]
PURPOSES = ("verify", "deploy")


class Arns:
    """The ARNs of what a deploy writes, in the environment's partition, region and account ("*" if unnamed)."""

    def __init__(self, settings: Settings) -> None:
        region = resolved_region(settings.environment)
        self._prefix = f"{partition_of(region)}:{{}}:{region}:{settings.environment.account_id or '*'}"
        self._settings = settings

    def _arn(self, service: str, resource: str) -> str:
        return f"arn:{self._prefix.format(service)}:{resource}"

    @property
    def table(self) -> str:
        return self._arn("dynamodb", f"table/{self._settings.environment.state_table}")

    @property
    def services(self) -> list[str]:
        service = self._settings.service
        names = [n for n in (service.name, service.green_name) if n]
        return [self._arn("ecs", f"service/{service.cluster}/{name}") for name in names]

    @property
    def task_definitions(self) -> str:
        return self._arn("ecs", f"task-definition/{self._settings.service.task_family}:*")

    @property
    def repository(self) -> str:
        return self._arn("ecr", f"repository/{self._settings.service.image_repository}")

    @property
    def listeners(self) -> str:
        """Every listener of the service's load balancer (its ARN's ids are unknown until asked)."""
        return self._arn("elasticloadbalancing", f"listener/app/{self._settings.service.load_balancer.name}/*")

    @property
    def listener_rules(self) -> str:
        """Every rule of those listeners (a rule_priority names one; its ARN's ids are unknown until asked)."""
        return self._arn("elasticloadbalancing", f"listener-rule/app/{self._settings.service.load_balancer.name}/*")


def _allow(sid: str, actions: list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}


def policy(settings: Settings, purpose: str) -> dict[str, Any]:
    """An IAM policy document for ``verify`` (read-only: verify, status, plan, trail) or ``deploy``
    (deploy and rollback too)."""
    arns = Arns(settings)
    statements: list[dict[str, Any]] = [
        _allow("ReadTheService", READ_ONLY, "*"),
        _allow("ReadTheTrailAndLock", STATE_READ, arns.table),
    ]
    if purpose == "deploy":
        statements.append(_allow("DeployTheService", SERVICE_WRITE, arns.services))
        statements.append(_allow("TagTheServiceAndRevisions", TAG_WRITE, [*arns.services, arns.task_definitions]))
        statements.append(_allow("RegisterRevisionsAndLogInToEcr", UNSCOPED_DEPLOY, "*"))
        if settings.environment.registry == "ecr":
            statements.append(_allow("PushTheImage", IMAGE_PUSH, arns.repository))
        if settings.service.blue_green is not None:
            statements.append(_allow("MoveTraffic", LISTENER_WRITE, [arns.listeners, arns.listener_rules]))
            statements.append(_allow("ReadTheGatesMetrics", UNSCOPED_TRAFFIC, "*"))
        statements.append(_allow("WriteTheTrailAndLock", STATE_WRITE, arns.table))
        roles = [r for r in (settings.task_role_arn, settings.execution_role_arn) if r]
        if roles:
            statements.append(
                {
                    "Sid": "PassTheTaskRoles",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": roles,
                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}
