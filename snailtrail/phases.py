"""Phase manifests (phases/phase-N-SHORT.yaml): image, container settings, success criteria."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator, model_validator

from snailtrail.config import StrategyConfig, Strict
from snailtrail.errors import ConfigError
from snailtrail.validation import refuse_plain_secrets, validate_model
from snailtrail.yamlio import load_yaml_mapping

MANIFEST_NAME = re.compile(r"^phase-(?P<number>\d+)-(?P<short>[a-z][a-z0-9-]*)\.ya?ml$")
SECRET_REFERENCE = re.compile(r"^arn:aws[a-z-]*:(ssm|secretsmanager):[a-z0-9-]+:\d{12}:.+$")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


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


class ContainerSpec(Strict):
    port: int = Field(ge=1, le=65535)
    environment: dict[str, str] = Field(default_factory=dict)
    secrets: dict[str, str] = Field(default_factory=dict, description="name -> SSM or Secrets Manager ARN")
    cpu: int = Field(default=256, ge=128, le=16384)
    memory: int = Field(default=512, ge=128, le=122880)
    command: list[str] | None = None
    health_check: HealthCheckSpec = Field(default_factory=HealthCheckSpec)
    desired_count: int = Field(default=1, ge=0, le=1000)

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

    @model_validator(mode="after")
    def _port_env_agrees(self) -> ContainerSpec:
        declared = self.environment.get("PORT")
        if declared is not None and declared != str(self.port):
            raise ValueError(
                f"environment PORT={declared} disagrees with port {self.port}; the app must listen on the mapped port"
            )
        return self


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


class PhaseManifest(Strict):
    description: str = ""
    image: ImageSpec
    container: ContainerSpec
    success: SuccessCriteria = Field(default_factory=SuccessCriteria)
    strategy: StrategyConfig | None = Field(default=None, description="overrides the environment's strategy")


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
