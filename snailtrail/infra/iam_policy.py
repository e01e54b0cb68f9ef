"""The least-privilege IAM policy each kind of run needs: the exact calls snailtrail makes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from snailtrail.aws.session import partition_of, resolved_region
from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.config.strategy_config import StrategyConfig

READ_ONLY = [
    "ecs:DescribeClusters",
    "ecs:DescribeServices",
    "ecs:DescribeTaskDefinition",
    "ecs:ListTaskDefinitions",
    "ecs:ListTasks",
    "ecs:DescribeTasks",
    "ecs:ListServiceDeployments",  # status, abort, promote and deploy find the service deployment in flight
    "ecs:DescribeServiceDeployments",
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
# The roles, and the load-balancer role's policies (verify's native deployment check).
ROLE_READ = ["iam:GetRole", "iam:ListAttachedRolePolicies", "iam:ListRolePolicies"]
SECRET_READ = ["secretsmanager:DescribeSecret"]
BUCKET_READ = ["s3:ListBucket"]  # doctor's HeadBucket of the model bucket
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
# One-off tasks (`snailtrail run`, a phase's before_deploy): RunTask on the family's revisions, StopTask on
# the cluster's tasks (its --timeout); the task roles are passed as for a service.
TASK_RUN = ["ecs:RunTask"]
TASK_STOP = ["ecs:StopTask"]
# These actions have no resource type: AWS accepts them only on "*".
UNSCOPED_DEPLOY = ["ecs:RegisterTaskDefinition", "ecr:GetAuthorizationToken"]
# Blue-green, canary and linear: snailtrail answers the service deployment's PAUSE hooks or rolls it back;
# ECS moves the traffic itself, with the load-balancer role snailtrail passes to it.
DEPLOYMENT_ANSWER = ["ecs:ContinueServiceDeployment", "ecs:StopServiceDeployment"]
# The gates' metrics: GetMetricData has no resource type.
UNSCOPED_TRAFFIC = ["cloudwatch:GetMetricData"]
GATE_ALARMS = ["cloudwatch:DescribeAlarms"]
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
        return [self._arn("ecs", f"service/{service.cluster}/{service.name}")]

    @property
    def service_deployments(self) -> str:
        """The service's deployments (ContinueServiceDeployment, StopServiceDeployment act on them)."""
        service = self._settings.service
        return self._arn("ecs", f"service-deployment/{service.cluster}/{service.name}/*")

    def alarms(self, names: list[str]) -> list[str]:
        return [self._arn("cloudwatch", f"alarm:{name}") for name in names]

    @property
    def task_definitions(self) -> str:
        return self._arn("ecs", f"task-definition/{self._settings.service.task_family}:*")

    @property
    def tasks(self) -> str:
        return self._arn("ecs", f"task/{self._settings.service.cluster}/*")

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


@dataclass(frozen=True)
class AccountResources:
    """What only the account can say (iam_account.py reads it): the roles its older verified revisions run as."""

    roles: tuple[str, ...] = ()


def _allow(sid: str, actions: list[str], resource: str | list[str]) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": actions, "Resource": resource}


def _own_keys(statement: dict[str, Any], settings: Settings) -> dict[str, Any]:
    """Only the items of this service in this environment (its lock and trail): one role cannot
    read or write another service's history."""
    keys = [f"{kind}#{settings.environment_name}#{settings.service.name}" for kind in ("lock", "trail")]
    return statement | {"Condition": {"ForAllValues:StringEquals": {"dynamodb:LeadingKeys": keys}}}


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
    statements = [
        _allow("ReadTheService", READ_ONLY, "*"),
        _own_keys(_allow("ReadTheTrailAndLock", STATE_READ, arns.table), settings),
    ]
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
    (deploy, rollback and run too). ``account``: the roles of the service's older verified revisions; without
    it, the configured roles."""
    arns = Arns(settings)
    statements = _reads(settings, arns, phases or [], account)
    if purpose == "deploy":
        statements.append(_allow("DeployTheService", SERVICE_WRITE, arns.services))
        statements.append(_allow("TagTheServiceAndRevisions", TAG_WRITE, [*arns.services, arns.task_definitions]))
        statements.append(_allow("RunOneOffTasks", TASK_RUN, arns.task_definitions))
        statements.append(_allow("StopOneOffTasks", TASK_STOP, arns.tasks))
        statements.append(_allow("RegisterRevisionsAndLogInToEcr", UNSCOPED_DEPLOY, "*"))
        if settings.environment.registry == "ecr":
            statements.append(_allow("PushTheImage", IMAGE_PUSH, arns.repository))
        if native_strategies(settings):
            statements.append(_allow("AnswerTheServiceDeployment", DEPLOYMENT_ANSWER, arns.service_deployments))
            statements.append(_allow("ReadTheGatesMetrics", UNSCOPED_TRAFFIC, "*"))
        gate_alarms = sorted({a for strategy in strategies(settings) for a in strategy.gates.alarms})
        if gate_alarms:
            statements.append(_allow("ReadTheGatesAlarms", GATE_ALARMS, arns.alarms(gate_alarms)))
        statements.append(_own_keys(_allow("WriteTheTrailAndLock", STATE_WRITE, arns.table), settings))
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
        if settings.task_role_arn:  # smoke gives the task's containers its credentials (task_credentials.py)
            statements.append(_allow("AssumeTheTaskRoleForSmoke", ["sts:AssumeRole"], settings.task_role_arn))
        if native_strategies(settings) and settings.environment.load_balancer_role_arn:
            statements.append(
                {
                    "Sid": "PassTheLoadBalancerRole",
                    "Effect": "Allow",
                    "Action": "iam:PassRole",
                    "Resource": settings.environment.load_balancer_role_arn,
                    "Condition": {"StringEquals": {"iam:PassedToService": "ecs.amazonaws.com"}},
                }
            )
    return {"Version": "2012-10-17", "Statement": statements}


def strategies(settings: Settings) -> list[StrategyConfig]:
    """The environment's strategy and every phase's: what a deploy in this environment may run."""
    from snailtrail.config.phases import load_phases

    found = [settings.environment.strategy] if settings.environment.strategy else []
    if settings.phases_path.is_dir():
        found += [p.manifest.strategy for p in load_phases(settings.phases_path) if p.manifest.strategy]
    return found


def native_strategies(settings: Settings) -> bool:
    """Whether a deploy here can be native: a strategy names one, or the setup for one exists (--strategy)."""
    return settings.service.load_balancer.test_listener_port is not None or any(s.native for s in strategies(settings))
