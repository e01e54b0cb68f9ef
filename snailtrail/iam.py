"""The least-privilege IAM policy each kind of run needs: the exact calls snailtrail makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.aws.session import partition_of, resolved_region
from snailtrail.config import Settings
from snailtrail.phases import Phase

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
    "logs:DescribeLogGroups",
    "ssm:DescribeParameters",
    "tag:GetResources",
    "application-autoscaling:DescribeScalableTargets",
]
STATE_READ = ["dynamodb:GetItem", "dynamodb:Query", "dynamodb:DescribeTable"]
# Reads with a resource type, each scoped to what snailtrail reads (Service Authorization Reference).
LOG_READ = ["logs:GetLogEvents", "logs:FilterLogEvents"]  # a failed rollout's stopped tasks, `snailtrail logs`
IMAGE_READ = ["ecr:DescribeImages", "ecr:DescribeRepositories"]
ROLE_READ = ["iam:GetRole"]
SECRET_READ = ["secretsmanager:DescribeSecret"]
BUCKET_READ = ["s3:ListBucket"]  # doctor's HeadBucket of the model bucket
# An authenticate-cognito action in a rule snailtrail modifies: ELB reads the user pool client with the caller's
# permissions. https://docs.aws.amazon.com/elasticloadbalancing/latest/application/listener-authenticate-users.html
COGNITO_READ = ["cognito-idp:DescribeUserPoolClient"]
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
        self.partition = partition_of(region)
        self._prefix = f"{self.partition}:{{}}:{region}:{settings.environment.account_id or '*'}"
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
    def log_group(self) -> list[str]:
        name = self._settings.log_group
        return [self._arn("logs", f"log-group:{name}"), self._arn("logs", f"log-group:{name}:*")] if name else []

    @property
    def roles(self) -> list[str]:
        environment = self._settings.environment
        found = (self._settings.execution_role_arn, self._settings.task_role_arn, environment.load_balancer_role_arn)
        return [arn for arn in found if arn]

    @property
    def listeners(self) -> str:
        """Every listener of the service's load balancer (its ARN's ids are unknown until asked)."""
        return self._arn("elasticloadbalancing", f"listener/app/{self._settings.service.load_balancer.name}/*")

    @property
    def listener_rules(self) -> str:
        """Every rule of those listeners (a rule_priority names one; its ARN's ids are unknown until asked)."""
        return self._arn("elasticloadbalancing", f"listener-rule/app/{self._settings.service.load_balancer.name}/*")


@dataclass(frozen=True)
class AccountResources:
    """What only the account can say (iam_account.py reads it): the ARNs of the service's listeners and rules,
    the roles its older verified revisions run as, the user pools an authenticate-cognito action names."""

    listeners: tuple[str, ...] = ()
    rules: tuple[str, ...] = ()
    roles: tuple[str, ...] = ()
    user_pools: tuple[str, ...] = ()


def _allow(sid: str, actions: list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}


def _secrets(phases: list[Phase]) -> list[str]:
    """The Secrets Manager secrets the phases name, as ARNs a policy matches (a JSON-key reference and a partial
    ARN without the random suffix included)."""
    arns = {
        ":".join(value.split(":")[:7]) + "*"
        for phase in phases
        for value in phase.container.secrets.values()
        if value.split(":")[2:3] == ["secretsmanager"]
    }
    return sorted(arns)


def _reads(
    settings: Settings, arns: Arns, phases: list[Phase], account: AccountResources | None
) -> list[dict[str, Any]]:
    statements = [_allow("ReadTheService", READ_ONLY, "*"), _allow("ReadTheTrailAndLock", STATE_READ, arns.table)]
    if arns.log_group:
        statements.append(_allow("ReadTheServicesLogs", LOG_READ, arns.log_group))
    statements.append(_allow("ReadTheImages", IMAGE_READ, arns.repository))
    roles = sorted({*arns.roles, *(account.roles if account else ())})
    if roles:
        statements.append(_allow("ReadTheRoles", ROLE_READ, roles))
    if _secrets(phases):
        statements.append(_allow("DescribeTheSecrets", SECRET_READ, _secrets(phases)))
    bucket = settings.environment.model_bucket
    if bucket:
        statements.append(_allow("FindTheModelBucket", BUCKET_READ, f"arn:{arns.partition}:s3:::{bucket}"))
    return statements


def policy(
    settings: Settings, purpose: str, phases: list[Phase] | None = None, account: AccountResources | None = None
) -> dict[str, Any]:
    """An IAM policy document for ``verify`` (read-only: verify, status, plan, trail) or ``deploy``
    (deploy and rollback too). ``account``: the service's own listeners, rules, older roles and user pools;
    without it, the listeners and rules of the service's load balancer and the configured roles."""
    arns = Arns(settings)
    statements = _reads(settings, arns, phases or [], account)
    if purpose == "deploy":
        statements.append(_allow("DeployTheService", SERVICE_WRITE, arns.services))
        statements.append(_allow("TagTheServiceAndRevisions", TAG_WRITE, [*arns.services, arns.task_definitions]))
        statements.append(_allow("RegisterRevisionsAndLogInToEcr", UNSCOPED_DEPLOY, "*"))
        if settings.environment.registry == "ecr":
            statements.append(_allow("PushTheImage", IMAGE_PUSH, arns.repository))
        if settings.service.blue_green is not None:
            traffic = [*account.listeners, *account.rules] if account and account.listeners else None
            statements.append(_allow("MoveTraffic", LISTENER_WRITE, traffic or [arns.listeners, arns.listener_rules]))
            statements.append(_allow("ReadTheGatesMetrics", UNSCOPED_TRAFFIC, "*"))
            if account and account.user_pools:
                statements.append(_allow("KeepTheCognitoLogIn", COGNITO_READ, list(account.user_pools)))
        statements.append(_allow("WriteTheTrailAndLock", STATE_WRITE, arns.table))
        # A rollback may return to an older verified revision that runs as other roles.
        configured = [r for r in (settings.task_role_arn, settings.execution_role_arn) if r]
        roles = sorted({*configured, *(account.roles if account else ())})
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
