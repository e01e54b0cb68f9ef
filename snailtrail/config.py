"""The service configuration (snailtrail.yaml) and the selected environment."""

from __future__ import annotations

import os
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from snailtrail.errors import ConfigError
from snailtrail.validation import looks_like_secret_name, validate_model
from snailtrail.yamlio import load_yaml_mapping

Name = Annotated[str, Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]


# A path segment of 20 or more letters and digits without a separator is a token (Slack's incoming-webhook
# URLs end in one, and Slack says the whole URL is a secret), not a name a person chose.
TOKEN_SEGMENT = re.compile(r"^[A-Za-z0-9]{20,}$")
SECRET_URL_HOSTS = ("hooks.slack.com",)


def url_looks_secret(url: str) -> bool:
    """The secret-looking-value rule for URLs: a password, a query parameter named like a secret, or a
    token-like path segment."""
    parts = urlsplit(url)
    return (
        parts.password is not None
        or parts.hostname in SECRET_URL_HOSTS
        or any(
            looks_like_secret_name(key) or key.lower() in ("key", "sig", "code") for key, _ in parse_qsl(parts.query)
        )
        or any(TOKEN_SEGMENT.match(segment) for segment in parts.path.split("/"))
    )


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


class StrategyKind(StrEnum):
    """ECS's deploymentConfiguration.strategy, as snailtrail.yaml spells it."""

    rolling = "rolling"
    blue_green = "blue-green"
    canary = "canary"
    linear = "linear"

    @property
    def ecs_strategy(self) -> str:
        return {"rolling": "ROLLING", "blue-green": "BLUE_GREEN", "canary": "CANARY", "linear": "LINEAR"}[self.value]


# Ranges and steps from the Amazon ECS API reference (DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration, DeploymentLifecycleHookTimeoutConfiguration).


def in_tenths(value: float) -> float:
    """canaryPercent and stepPercent are multiples of 0.1."""
    if abs(round(value * 10) - value * 10) > 1e-9:
        raise ValueError(f"{value:g} is not a multiple of 0.1, as ECS requires")
    return value


class CanaryConfig(Strict):
    """canaryConfiguration: ``percent`` of production traffic first, baked, then the rest."""

    percent: float = Field(default=10.0, ge=0.1, le=100, description="canaryPercent: 0.1 to 100 in steps of 0.1")
    bake_minutes: int = Field(default=2, ge=0, le=1440, description="canaryBakeTimeInMinutes, under the gates")

    @field_validator("percent")
    @classmethod
    def _tenths(cls, value: float) -> float:
        return in_tenths(value)


class LinearConfig(Strict):
    """linearConfiguration: production traffic in equal steps, each baked."""

    step_percent: float = Field(default=25.0, ge=3, le=100, description="stepPercent: 3 to 100 in steps of 0.1")
    step_bake_minutes: int = Field(default=2, ge=0, le=1440, description="stepBakeTimeInMinutes, under the gates")

    @field_validator("step_percent")
    @classmethod
    def _tenths(cls, value: float) -> float:
        return in_tenths(value)


class HookAction(StrEnum):
    rollback = "ROLLBACK"
    continue_ = "CONTINUE"


class HoldConfig(Strict):
    """A manual hold: after snailtrail's own test through the test listener passed and before any
    production traffic moves (POST_TEST_TRAFFIC_SHIFT), the deployment waits for `snailtrail promote` or
    `snailtrail abort`; snailtrail does not continue it by itself. ECS takes ``on_timeout`` after
    ``timeout_minutes``."""

    timeout_minutes: int = Field(default=60, ge=1, le=20160, description="timeoutInMinutes of the hold's hook")
    on_timeout: HookAction = Field(default=HookAction.rollback, description="ROLLBACK (default) or CONTINUE")


class GateConfig(Strict):
    """Live-traffic gates: the new revision against the old, from the load balancer's metrics, and the
    CloudWatch alarms named here (in ALARM during a bake: roll back)."""

    min_requests: int = Field(default=20, ge=1, description="new-revision requests before the traffic gates judge")
    max_error_rate_increase: float = Field(
        default=0.02, ge=0, le=1, description="5xx and connection-error rate above the old revision's"
    )
    max_latency_ratio: float = Field(default=1.5, ge=1, description="mean response time over the old revision's")
    min_latency_increase_ms: float = Field(
        default=50, ge=0, description="a latency ratio only fails above this many ms of difference"
    )
    allow_no_traffic: bool = Field(
        default=False,
        description="a bake that ends before min_requests reached the new revision passes with a warning "
        "instead of failing (for services without steady traffic)",
    )
    alarms: list[Name] = Field(
        default_factory=list, max_length=10, description="CloudWatch alarms snailtrail watches during every bake"
    )


REPLACED_STRATEGY_KEYS = {
    "steps": "canary: {percent, bake_minutes} or linear: {step_percent, step_bake_minutes}",
    "final_bake_s": "bake_minutes (ECS's bakeTimeInMinutes, after all production traffic moved)",
}


class StrategyConfig(Strict):
    """How a deploy moves the one service: ECS's own strategy, the PAUSE hooks snailtrail judges at,
    ECS's alarm rollback and snailtrail's gates."""

    kind: StrategyKind = StrategyKind.rolling
    bake_minutes: int = Field(
        default=2, ge=0, le=1440, description="bakeTimeInMinutes: old and new revisions both kept after the shift"
    )
    canary: CanaryConfig = Field(default_factory=CanaryConfig)
    linear: LinearConfig = Field(default_factory=LinearConfig)
    hold: HoldConfig | None = Field(
        default=None, description="wait for an operator's promote or abort before production traffic moves"
    )
    judge_timeout_minutes: int = Field(
        default=10,
        ge=1,
        le=20160,
        description="timeout of snailtrail's own PAUSE hooks: a snailtrail that died is rolled back by ECS then",
    )
    alarms: list[Name] = Field(
        default_factory=list,
        max_length=10,
        description="deploymentConfiguration.alarms: ECS rolls back by itself when one goes into ALARM",
    )
    gates: GateConfig = Field(default_factory=GateConfig)

    @model_validator(mode="before")
    @classmethod
    def _replaced_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for old, new in REPLACED_STRATEGY_KEYS.items():
                if old in data:
                    raise ValueError(f"strategy.{old} is gone (ECS moves the traffic now): use {new}")
        return data

    @property
    def native(self) -> bool:
        """Blue-green, canary or linear: a service deployment snailtrail judges at PAUSE hooks."""
        return self.kind is not StrategyKind.rolling


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
            if url_looks_secret(value):
                raise ValueError(
                    "this URL looks like it carries a secret (a token in its path or query, or a password); "
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
        return value

    production: bool = False
    notifications: NotificationsConfig | None = Field(
        default=None, description="webhooks (Slack-compatible) told of deploys, rollbacks, aborts and failures"
    )
    traffic: TrafficConfig | None = Field(
        default=None, description="the production listener and the service's rule priority on it"
    )

    @property
    def minute_s(self) -> float:
        """How long one of ECS's minutes (bakes, hook timeouts) lasts here: 60 s on AWS, one second on the
        sandbox's clock (docs/sandbox.md), so that a sandbox deploy stays short."""
        return 1.0 if self.kind is EnvironmentKind.sandbox else 60.0

    @field_validator("endpoint_url", "public_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
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
