"""Phase manifests (phases/phase-N-SHORT.yaml): image, container settings, success criteria."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from snailtrail.config.strategy_config import StrategyConfig, Strict
from snailtrail.config.validation import refuse_plain_secrets, validate_model
from snailtrail.config.yamlio import load_yaml_mapping
from snailtrail.errors import ConfigError

MANIFEST_NAME = re.compile(r"^phase-(?P<number>\d+)-(?P<short>[a-z][a-z0-9-]*)\.ya?ml$")
SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:.+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# ECS: up to 255 letters, numbers, hyphens and underscores (ContainerDefinition.name, Volume.name).
CONTAINER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,254}$")
VOLUME_NAME = CONTAINER_NAME


class ImageSpec(Strict):
    dockerfile: str
    context: str = "service"
    build_args: dict[str, str] = Field(default_factory=dict)

    @field_validator("build_args")
    @classmethod
    def _no_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        # A build argument stays readable in the image's history.
        return refuse_plain_secrets(value, "a build argument is kept in the image's history: use a build secret")


class HealthCheckSpec(Strict):
    path: str = Field(default="/health", pattern=r"^/")
    grace_period_s: int = Field(default=30, ge=0, le=2_147_483_647)


Condition = Literal["START", "COMPLETE", "SUCCESS", "HEALTHY"]  # ECS's ContainerDependency conditions


class ContainerHealthCheck(Strict):
    """A container health check as ECS runs it (the task definition's healthCheck): what HEALTHY means.
    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_HealthCheck.html (ranges as there)"""

    command: list[str] = Field(min_length=2, description='["CMD-SHELL", "..."] or ["CMD", executable, args...]')
    interval_s: int = Field(default=30, ge=5, le=300)
    timeout_s: int = Field(default=5, ge=2, le=120)
    retries: int = Field(default=3, ge=1, le=10)
    start_period_s: int = Field(default=0, ge=0, le=300)

    @field_validator("command")
    @classmethod
    def _docker_form(cls, value: list[str]) -> list[str]:
        if value[0] not in ("CMD", "CMD-SHELL"):
            raise ValueError("starts with CMD (an executable and its arguments) or CMD-SHELL (one shell command)")
        return value


class LogSpec(Strict):
    """The container's log configuration: awslogs to the environment's log_group (its own stream), or none."""

    driver: Literal["awslogs", "none"] = "awslogs"
    stream_prefix: str | None = Field(default=None, description="default: the service's name")


class ContainerOptions(Strict):
    """What every container of a task may set, the app and the others alike."""

    environment: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="name -> SSM or Secrets Manager ARN")
    command: list[str] | None = None
    depends_on: dict[str, Condition] = Field(default_factory=dict, description="container name -> condition")
    container_health_check: ContainerHealthCheck | None = None
    mounts: dict[str, str] = Field(default_factory=dict, description="task volume name -> path in the container")
    log: LogSpec = Field(default_factory=LogSpec)

    @field_validator("environment", "secrets")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not ENV_NAME.match(name):
                raise ValueError(f"'{name}' is not a valid environment variable name")
        return value

    @field_validator("environment")
    @classmethod
    def _no_plain_secrets(cls, value: dict[str, str]) -> dict[str, str]:
        return refuse_plain_secrets(value, "move it to `secrets:` as an SSM or Secrets Manager ARN")

    @field_validator("secrets")
    @classmethod
    def _secret_references(cls, value: dict[str, str]) -> dict[str, str]:
        for name, ref in value.items():
            if not SECRET_REFERENCE.match(ref):
                raise ValueError(f"secret '{name}' must be an SSM parameter or Secrets Manager ARN, not a value")
        return value

    @field_validator("mounts")
    @classmethod
    def _mount_paths(cls, value: dict[str, str]) -> dict[str, str]:
        for name, path in value.items():
            if not VOLUME_NAME.match(name) or not path.startswith("/"):
                raise ValueError(
                    f"mount {name}: {path} needs a volume name (letters, digits, - and _) and an absolute path"
                )
        return value


class ContainerSpec(ContainerOptions):
    """The app: essential, behind the load balancer; its cpu and memory are the task's."""

    port: int = Field(ge=1, le=65535)
    cpu: int = Field(default=256, ge=128, le=16384)
    memory: int = Field(default=512, ge=128, le=122880)
    container_memory: int | None = Field(
        default=None, ge=6, le=122880, description="the app's own hard limit; default: what the others leave"
    )
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec)
    desired_count: int = Field(default=1, ge=0, le=1000)

    @model_validator(mode="after")
    def _port_env_agrees(self) -> ContainerSpec:
        declared = self.environment.get("PORT")
        if declared is not None and declared != str(self.port):
            raise ValueError(
                f"environment PORT={declared} disagrees with port {self.port}; the app must listen on the mapped port"
            )
        return self


class ContainerImage(Strict):
    """A container's image: built from a Dockerfile (as the phase's image is), or referenced as it is."""

    dockerfile: str | None = None
    context: str = "service"
    build_args: dict[str, str] = Field(default_factory=dict)
    reference: str | None = Field(default=None, description="an image pulled as named, e.g. repo@sha256:...")

    @model_validator(mode="after")
    def _one_source(self) -> ContainerImage:
        if (self.dockerfile is None) == (self.reference is None):
            raise ValueError("give either dockerfile (built and pushed by the deploy) or reference (used as named)")
        return self


class SidecarSpec(ContainerOptions):
    """A container of the task beside the app: an init container, a metrics agent, a proxy, a log router."""

    name: str = Field(pattern=CONTAINER_NAME.pattern)
    image: ContainerImage | None = Field(default=None, description="default: the phase's own image")
    essential: bool = True  # ECS's default
    ports: list[int] = Field(default_factory=list, description="container ports, reached on the task's address")
    memory: int = Field(default=128, ge=6, le=122880, description="hard limit, MiB; taken from the task's")
    cpu: int = Field(default=0, ge=0, le=16384)

    @field_validator("ports")
    @classmethod
    def _port_range(cls, value: list[int]) -> list[int]:
        for port in value:
            if not 1 <= port <= 65535:
                raise ValueError(f"port {port} is not between 1 and 65535")
        return value


class HttpProbe(Strict):
    path: str = Field(pattern=r"^/")
    status: int = Field(default=200, ge=100, le=599)
    json_fields: dict[str, Any] = Field(default_factory=dict, alias="json")
    method: str = Field(default="GET", pattern="^(GET|HEAD)$")


class SuccessCriteria(Strict):
    http: list[HttpProbe] = Field(default_factory=list)
    healthy_targets: int | None = Field(default=None, ge=0, description="default: the desired count")
    ml_mode: list[str] | None = Field(default=None, description="accepted /ml/status modes")
    allow_degraded: bool = True
    attempts: int = Field(default=10, ge=1, le=100)
    interval_s: float = Field(default=2.0, ge=0, le=60)


class OneOffTaskSpec(Strict):
    """A one-off task run with the new revision before the service changes (a migration, say)."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$")
    command: list[str] = Field(min_length=1)
    container: str | None = Field(default=None, description="default: the service's container")
    timeout_s: float = Field(default=900, ge=1, le=86400)


class SchemaSpec(Strict):
    """The database schema: the version this phase's migrations leave, and the oldest its code runs against."""

    version: int = Field(ge=0)
    oldest_compatible: int = Field(ge=0)

    @model_validator(mode="after")
    def _range(self) -> SchemaSpec:
        if self.oldest_compatible > self.version:
            raise ValueError(
                f"oldest_compatible {self.oldest_compatible} is newer than version {self.version}: the revision "
                "must run against the schema its own migrations leave"
            )
        return self


class PhaseManifest(Strict):
    description: str = ""
    image: ImageSpec
    container: ContainerSpec
    containers: list[SidecarSpec] = Field(
        default_factory=list, description="the task's other containers, beside the app (container)"
    )
    success: SuccessCriteria = Field(default_factory=SuccessCriteria)
    strategy: StrategyConfig | None = Field(default=None, description="overrides the environment's strategy")
    before_deploy: list[OneOffTaskSpec] = Field(default_factory=list, description="run after register, in order")
    schema_: SchemaSpec | None = Field(default=None, alias="schema")

    @field_validator("before_deploy")
    @classmethod
    def _unique_task_names(cls, value: list[OneOffTaskSpec]) -> list[OneOffTaskSpec]:
        names = [task.name for task in value]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"task name {', '.join(repeated)} is used twice; give each task its own name")
        return value

    @model_validator(mode="after")
    def _sidecars_fit(self) -> PhaseManifest:
        names = [c.name for c in self.containers]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"containers: {', '.join(twice)} named more than once; each container needs its own name")
        taken = sum(c.memory for c in self.containers)
        if self.containers and taken >= self.container.memory:
            raise ValueError(
                f"containers take {taken} MiB of the task's {self.container.memory} (container.memory): "
                "the app needs some; raise container.memory"
            )
        return self


class Phase(Strict):
    """A manifest plus the identity its file name gives it."""

    name: str
    short_name: str
    number: int
    path: Path
    manifest: PhaseManifest

    @property
    def container(self) -> ContainerSpec:
        return self.manifest.container


def load_phase(path: Path) -> Phase:
    match = MANIFEST_NAME.match(path.name)
    if not match:
        raise ConfigError(
            f"{path}: a phase manifest is named phase-N-SHORT.yaml", fix="rename it, for example phase-2-hybrid.yaml"
        )
    manifest = validate_model(PhaseManifest, load_yaml_mapping(path), path)
    number = int(match["number"])
    return Phase(name=f"phase-{number}", short_name=match["short"], number=number, path=path, manifest=manifest)


def load_phases(directory: Path) -> list[Phase]:
    if not directory.is_dir():
        raise ConfigError(
            f"{directory}: phases directory not found", fix="create it, or set phases_dir in snailtrail.yaml"
        )
    phases = [load_phase(p) for p in sorted(directory.iterdir()) if p.suffix in (".yaml", ".yml")]
    if not phases:
        raise ConfigError(f"{directory}: no phase manifests", fix="add phases/phase-1-NAME.yaml")
    phases.sort(key=lambda p: p.number)
    seen: dict[int, Path] = {}
    for phase in phases:
        if phase.number in seen:
            raise ConfigError(
                f"{phase.path}: phase number {phase.number} is also used by {seen[phase.number]}",
                fix="give each phase its own number",
            )
        seen[phase.number] = phase.path
    return phases


def select_phase(phases: list[Phase], wanted: str) -> Phase:
    """By full name (phase-2), unique prefix, short name (hybrid) or number (2)."""
    wanted = wanted.strip().lower()
    for phase in phases:
        if wanted in (phase.name, phase.short_name, str(phase.number), f"{phase.name}-{phase.short_name}"):
            return phase
    matches = [p for p in phases if f"{p.name}-{p.short_name}".startswith(wanted) or p.short_name.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(f"{p.name} ({p.short_name})" for p in phases)
    if matches:
        raise ConfigError(f"phase '{wanted}' is ambiguous", fix=f"name one of: {known}")
    raise ConfigError(f"phase '{wanted}' not found", fix=f"name one of: {known}")
