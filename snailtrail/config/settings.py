"""The service configuration (snailtrail.yaml) and the selected environment."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from snailtrail.config.strategy_config import Name, StrategyConfig, Strict
from snailtrail.config.validation import refuse_plain_secrets, validate_model
from snailtrail.config.yamlio import load_yaml_mapping
from snailtrail.errors import ConfigError
from snailtrail.redaction import url_secret

SANDBOX_REGION = "us-east-1"


class EnvironmentKind(StrEnum):
    sandbox = "sandbox"
    aws = "aws"


class CpuArchitecture(StrEnum):
    """ECS runtimePlatform.cpuArchitecture values and the docker platform each builds for."""

    x86_64 = "X86_64"
    arm64 = "ARM64"

    @property
    def docker_architecture(self) -> str:
        """The name Docker gives it in an image's Architecture."""
        return "amd64" if self is CpuArchitecture.x86_64 else "arm64"

    @property
    def docker_platform(self) -> str:
        return f"linux/{self.docker_architecture}"


class NetworkConfig(Strict):
    """awsvpc settings; subnets and groups are ids (subnet-..., sg-...) or Name tags."""

    subnets: list[Name] = Field(min_length=1)
    security_groups: list[Name] = Field(min_length=1)
    assign_public_ip: bool = True


class LoadBalancerConfig(Strict):
    name: Name
    target_group: Name
    listener_port: int = Field(default=80, ge=1, le=65535)
    security_group: Name | None = None
    alternate_target_group: Name | None = Field(
        default=None,
        description="the second target group of ECS's blue/green, canary and linear deployments "
        "(advancedConfiguration.alternateTargetGroupArn); default: <target_group>-alt",
    )
    test_listener_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="the listener whose rule is advancedConfiguration.testListenerRule: the new revision "
        "answers there before it takes production traffic",
    )

    @property
    def alternate(self) -> str:
        """The alternate target group's name."""
        return self.alternate_target_group or f"{self.target_group}-alt"


class DomainConfig(Strict):
    name: str = Field(min_length=1, max_length=253)
    hosted_zone: str = Field(min_length=1, max_length=253)


class ServiceConfig(Strict):
    name: Name
    cluster: Name
    container_name: Name = "app"
    family: Name | None = None
    image_repository: Name
    launch_type: str = Field(default="FARGATE", pattern="^(FARGATE|EC2)$")
    execution_role_arn: str | None = None
    task_role_arn: str | None = None
    log_group: str | None = None
    network: NetworkConfig
    load_balancer: LoadBalancerConfig
    domain: DomainConfig | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_second_colour(cls, data: Any) -> Any:
        # Issue 20: blue-green, canary and linear are native deployments of the one service; a config
        # written for the second-service mode is told what replaced each of its keys.
        if isinstance(data, dict) and "blue_green" in data:
            raise ValueError(
                "service.blue_green is gone: blue-green, canary and linear deploy the one service natively. "
                "Move blue_green.target_group to service.load_balancer.alternate_target_group and "
                "blue_green.test_listener_port to service.load_balancer.test_listener_port, and name ECS's "
                "load-balancer role in environments.<name>.load_balancer_role_arn; there is no second service"
            )
        return data

    @property
    def task_family(self) -> str:
        return self.family or self.name


class WebhookConfig(Strict):
    """Where to post: the URL in an environment variable (``url_env``), or a literal ``url`` that carries no secret."""

    url_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    url: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> WebhookConfig:
        if (self.url is None) == (self.url_env is None):
            raise ValueError("give either url_env (the variable holding the URL) or url, not both or neither")
        return self

    @field_validator("url")
    @classmethod
    def _no_secret_in_url(cls, value: str | None) -> str | None:
        if value is not None:
            if not value.startswith(("http://", "https://")):
                raise ValueError("must start with http:// or https://")
            found = url_secret(value)
            if found is not None:
                raise ValueError(
                    f"this URL looks like it carries a secret ({found}); "
                    "put it in an environment variable and name that: url_env: SLACK_WEBHOOK_URL"
                )
        return value


class NotificationsConfig(Strict):
    webhooks: list[WebhookConfig] = Field(default_factory=list, max_length=10)


class TrafficConfig(Strict):
    """The listener whose rule ECS moves production traffic on, in one environment."""

    listener_port: int | None = Field(
        default=None, ge=1, le=65535, description="default: service.load_balancer.listener_port"
    )
    rule_priority: int = Field(
        default=10,
        ge=1,
        le=50_000,
        description="the priority of the service's rule on the production and test listeners",
    )


class InfraConfig(Strict):
    """`snailtrail infra`: the environment's CloudFormation stack (snailtrail/templates/environment.yaml).

    The template's names come from this file (service, load balancer, roles, table, bucket...); what only the
    account knows is here.
    """

    stack_name: Name | None = Field(default=None, description="default: <service.name>-<environment>")
    certificate_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:acm:[a-z0-9-]+:\d{12}:certificate/.+$",
        description="the ACM certificate of the domain, for the HTTPS listeners",
    )
    parameters: dict[str, str] = Field(
        default_factory=dict,
        description="other template parameters: VpcId and SubnetIds (an existing network), TestListenerCidr, "
        "LogRetentionDays, ImageTagMutability, SslPolicy, DeregistrationDelaySeconds, ...",
    )
    github_repository: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="`infra up --ci`: owner/name of the repository whose GitHub Actions deploy this environment",
    )
    ci_parameters: dict[str, str] = Field(
        default_factory=dict,
        description="`infra up --ci`: MainBranch, OidcProviderArn (the account's existing GitHub provider), role names",
    )


class EnvironmentConfig(Strict):
    kind: EnvironmentKind = EnvironmentKind.aws
    region: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}(-[a-z]+)+-\d$",
        description=f"default: AWS_REGION / AWS_DEFAULT_REGION, else the profile's ({SANDBOX_REGION} in the sandbox)",
    )
    profile: str | None = Field(
        default=None, description="a default: credentials or AWS_PROFILE in the process environment win"
    )
    account_id: str | None = Field(
        default=None, pattern=r"^\d{12}$", description="the account this environment must run in (doctor checks it)"
    )
    endpoint_url: str | None = None
    registry: str = Field(default="ecr", description="'ecr', 'sandbox' or a registry host[:port]")
    registry_credentials: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:.+$",
        description="a private non-ECR registry: the Secrets Manager secret ARN of its username and password",
    )
    execution_role_arn: str | None = Field(
        default=None, description="the task execution role in this environment (overrides service's)"
    )
    task_role_arn: str | None = Field(
        default=None, description="the task role (the app's own permissions) in this environment (overrides service's)"
    )
    domain: DomainConfig | None = Field(
        default=None, description="the public domain in this environment (overrides service's)"
    )
    log_group: str | None = Field(
        default=None, description="the awslogs group in this environment (overrides service's)"
    )
    load_balancer_role_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:iam::\d{12}:role/.+$",
        description="the role ECS calls Elastic Load Balancing with in native blue/green, canary and linear "
        "deployments (advancedConfiguration.roleArn; AmazonECSInfrastructureRolePolicyForLoadBalancers)",
    )
    cpu_architecture: CpuArchitecture | None = Field(
        default=None, description="runtimePlatform.cpuArchitecture; images are built for it (default: the host's)"
    )
    public_url: str | None = None
    test_url: str | None = Field(
        default=None,
        description="where the test listener answers (default: the public URL's scheme, the environment's domain and "
        "the test listener's port; set it when the public URL is a CDN such as CloudFront)",
    )
    dns_server: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F.:]+:\d+$|^[0-9a-fA-F.:]+$",
        description="resolver for DNS checks (host or host:port); default: the system's",
    )
    state_table: Name = "snailtrail-state"
    model_bucket: Name | None = None
    seed_commands: list[list[str]] = Field(
        default_factory=list,
        description="sandbox only: commands run after provisioning, with AWS_ENDPOINT_URL set, to seed buckets",
    )
    container_environment: dict[str, str] = Field(
        default_factory=dict, description="added to every phase's container environment in this environment"
    )
    create_service_if_missing: bool = False
    strategy: StrategyConfig | None = Field(default=None, description="default for every phase; a phase's wins")
    metrics_period_s: int | None = Field(
        default=None,
        ge=1,
        le=3600,
        description="period of the load balancer's CloudWatch metrics the gates read (default: 60, an ALB's, "
        "and a multiple of 60 on AWS; 1 in the sandbox, whose front door publishes per second)",
    )

    @model_validator(mode="before")
    @classmethod
    def _sandbox_region(cls, data: Any) -> Any:
        # The sandbox (moto on loopback) runs in one region unless the config names another; an aws
        # environment without one takes AWS_REGION or the profile's (aws/session.py).
        if isinstance(data, dict) and data.get("kind") == EnvironmentKind.sandbox.value and data.get("region") is None:
            return {**data, "region": SANDBOX_REGION}
        return data

    @field_validator("container_environment")
    @classmethod
    def _no_port_override(cls, value: dict[str, str]) -> dict[str, str]:
        if "PORT" in value:
            raise ValueError("PORT belongs to each phase's container (it must match the container port)")
        return refuse_plain_secrets(value, "move it to a phase's `secrets:` as an SSM or Secrets Manager ARN")

    production: bool = False
    notifications: NotificationsConfig | None = Field(
        default=None, description="webhooks (Slack-compatible) told of deploys, rollbacks, aborts and failures"
    )
    traffic: TrafficConfig | None = Field(
        default=None, description="the production listener and the service's rule priority on it"
    )
    infra: InfraConfig | None = Field(default=None, description="`snailtrail infra plan|up`: the environment's stack")

    @property
    def minute_s(self) -> float:
        """How long one of ECS's minutes (bakes, hook timeouts) lasts here: 60 s on AWS, one second on the
        sandbox's clock (docs/sandbox.md), so that a sandbox deploy stays short."""
        return 1.0 if self.kind is EnvironmentKind.sandbox else 60.0

    @field_validator("endpoint_url", "public_url", "test_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        if value is not None and "@" in value.partition("://")[2].split("/", 1)[0]:
            raise ValueError("carries credentials (user:password@); give the URL without them")
        return value


class ProjectConfig(Strict):
    service: ServiceConfig
    phases_dir: str = "phases"
    default_environment: Name
    environments: dict[Name, EnvironmentConfig] = Field(min_length=1)
    git_revision: str | None = None

    @model_validator(mode="after")
    def _default_exists(self) -> ProjectConfig:
        if self.default_environment not in self.environments:
            known = ", ".join(sorted(self.environments))
            raise ValueError(
                f"default_environment '{self.default_environment}' is not one of the environments ({known})"
            )
        return self


class Settings(BaseModel):
    """The loaded configuration plus where it came from and which environment is selected."""

    model_config = ConfigDict(frozen=True)

    path: Path
    project: ProjectConfig
    environment_name: str

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def service(self) -> ServiceConfig:
        return self.project.service

    @property
    def environment(self) -> EnvironmentConfig:
        return self.project.environments[self.environment_name]

    @property
    def production_listener_port(self) -> int:
        """Where users arrive: the environment's traffic listener, else the service's listener port."""
        traffic = self.environment.traffic
        if traffic is not None and traffic.listener_port is not None:
            return traffic.listener_port
        return self.service.load_balancer.listener_port

    @property
    def execution_role_arn(self) -> str | None:
        return self.environment.execution_role_arn or self.service.execution_role_arn

    @property
    def task_role_arn(self) -> str | None:
        return self.environment.task_role_arn or self.service.task_role_arn

    @property
    def domain(self) -> DomainConfig | None:
        return self.environment.domain or self.service.domain

    @property
    def log_group(self) -> str | None:
        return self.environment.log_group or self.service.log_group

    @property
    def phases_path(self) -> Path:
        return self.root / self.project.phases_dir

    @property
    def state_dir(self) -> Path:
        return self.root / ".snailtrail"


def config_path(explicit: str | None) -> Path:
    """--config, else SNAILTRAIL_CONFIG, else ./snailtrail.yaml."""
    chosen = explicit or os.environ.get("SNAILTRAIL_CONFIG") or "snailtrail.yaml"
    return Path(chosen).resolve()


def load_settings(config: str | None = None, env: str | None = None) -> Settings:
    path = config_path(config)
    if not path.exists():
        raise ConfigError(
            f"{path}: configuration not found",
            fix="run snailtrail from the directory holding snailtrail.yaml, or pass --config PATH",
        )
    project = validate_model(ProjectConfig, load_yaml_mapping(path), path)
    name = env or os.environ.get("SNAILTRAIL_ENV") or project.default_environment
    if name not in project.environments:
        known = ", ".join(sorted(project.environments))
        raise ConfigError(
            f"environment '{name}' is not defined in {path} (known: {known})",
            fix="pass --env with one of the known environments",
        )
    return Settings(path=path, project=project, environment_name=name)
