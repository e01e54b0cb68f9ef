"""Render a phase's task definition, fingerprint it, and find revisions by their tags."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from snailtrail.aws.ecs import TAG_FINGERPRINT, TAG_PHASE, TAG_VERIFIED, EcsApi
from snailtrail.aws.session import resolved_region
from snailtrail.config.phases import ContainerOptions, Phase, SidecarSpec
from snailtrail.config.settings import Settings
from snailtrail.errors import ConfigError
from snailtrail.plan import container_graph

# The keys snailtrail renders: comparing a live definition on these alone ignores what ECS adds
# (revision, status, registeredAt ...), so a diff shows only what a deploy would change.
RENDERED_KEYS = (
    "family",
    "networkMode",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "executionRoleArn",
    "taskRoleArn",
    "runtimePlatform",
    "volumes",
    "containerDefinitions",
)
CONTAINER_KEYS = (
    "name",
    "image",
    "essential",
    "portMappings",
    "environment",
    "secrets",
    "command",
    "memory",
    "logConfiguration",
    "repositoryCredentials",
    "cpu",
    "dependsOn",
    "healthCheck",
    "mountPoints",
)
HISTORY_DEPTH = 50


def container_environment(settings: Settings, phase: Phase) -> dict[str, str]:
    """The container's environment: the phase's, plus what the environment adds to every phase."""
    return phase.container.environment | settings.environment.container_environment


def _options(settings: Settings, options: ContainerOptions, environment: dict[str, str]) -> dict[str, Any]:
    """What the app and the other containers render alike: environment, secrets, command, dependsOn, the
    container health check, mounts and the log configuration (awslogs: a stream per container)."""
    rendered: dict[str, Any] = {
        "environment": [{"name": k, "value": v} for k, v in sorted(environment.items())],
    }
    if options.secrets:
        rendered["secrets"] = [{"name": k, "valueFrom": v} for k, v in sorted(options.secrets.items())]
    if options.command:
        rendered["command"] = list(options.command)
    if options.depends_on:
        rendered["dependsOn"] = [{"containerName": n, "condition": c} for n, c in options.depends_on.items()]
    check = options.container_health_check
    if check is not None:
        rendered["healthCheck"] = {
            "command": list(check.command),
            "interval": check.interval_s,
            "timeout": check.timeout_s,
            "retries": check.retries,
        }
        if check.start_period_s:  # unset is ECS's default (no start period), and DescribeTaskDefinition omits it
            rendered["healthCheck"]["startPeriod"] = check.start_period_s
    if options.mounts:
        rendered["mountPoints"] = [
            {"sourceVolume": name, "containerPath": path, "readOnly": False} for name, path in options.mounts.items()
        ]
    if settings.environment.registry_credentials:
        # A private non-ECR registry: ECS reads its username and password from this secret.
        # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/private-auth.html
        rendered["repositoryCredentials"] = {"credentialsParameter": settings.environment.registry_credentials}
    if settings.log_group and options.log.driver == "awslogs":
        rendered["logConfiguration"] = {
            "logDriver": "awslogs",
            "options": {
                "awslogs-group": settings.log_group,
                "awslogs-region": resolved_region(settings.environment),
                "awslogs-stream-prefix": options.log.stream_prefix or settings.service.name,
            },
        }
    return rendered


def sidecar_image(phase: Phase, sidecar: SidecarSpec, image: str, built: Mapping[str, str]) -> str:
    """What a container beside the app runs: its reference, its own build (``built``, by name), or the phase's."""
    if sidecar.image is None:
        return image
    if sidecar.image.reference is not None:
        return sidecar.image.reference
    return built.get(sidecar.name, image if image.startswith("<") else f"<{sidecar.name}: built by this deploy>")


def render(settings: Settings, phase: Phase, image: str, built: Mapping[str, str] | None = None) -> dict[str, Any]:
    """The phase's task definition: the app first (``image``), then its other containers, each image built by
    this deploy given in ``built`` by container name."""
    service = settings.service
    spec = phase.container
    sidecars = phase.manifest.containers
    container: dict[str, Any] = {
        "name": service.container_name,
        "image": image,
        "essential": True,
        "portMappings": [{"containerPort": spec.port, "hostPort": spec.port, "protocol": "tcp"}],
        # The app's hard limit is what the task's memory leaves once the other containers have theirs.
        "memory": spec.container_memory or spec.memory - sum(s.memory for s in sidecars),
    } | _options(settings, spec, container_environment(settings, phase))
    containers = [container]
    for sidecar in sidecars:
        rendered = {
            "name": sidecar.name,
            "image": sidecar_image(phase, sidecar, image, built or {}),
            "essential": sidecar.essential,
            "portMappings": [{"containerPort": p, "hostPort": p, "protocol": "tcp"} for p in sidecar.ports],
            "memory": sidecar.memory,
        } | _options(settings, sidecar, sidecar.environment | settings.environment.container_environment)
        if sidecar.cpu:
            rendered["cpu"] = sidecar.cpu
        containers.append(rendered)
    _check_containers(phase, containers)
    definition: dict[str, Any] = {
        "family": service.task_family,
        "networkMode": "awsvpc",
        "requiresCompatibilities": [service.launch_type],
        "cpu": str(spec.cpu),
        "memory": str(spec.memory),
        "containerDefinitions": containers,
    }
    volumes = sorted({name for c in [spec, *sidecars] for name in c.mounts})
    if volumes:
        # A task volume with no host path: Fargate's ephemeral storage, shared by the containers that mount it.
        definition["volumes"] = [{"name": name} for name in volumes]
    if settings.execution_role_arn:
        definition["executionRoleArn"] = settings.execution_role_arn
    if settings.task_role_arn:
        definition["taskRoleArn"] = settings.task_role_arn
    architecture = settings.environment.cpu_architecture
    if architecture is not None:
        definition["runtimePlatform"] = {"cpuArchitecture": architecture.value, "operatingSystemFamily": "LINUX"}
    return definition


def validate_containers(settings: Settings, phase: Phase) -> None:
    """The phase's containers as ECS would refuse or never start them: exit 2 before any call."""
    if phase.manifest.containers:
        render(settings, phase, "<image>")


def _check_containers(phase: Phase, containers: list[dict[str, Any]]) -> None:
    """The containers as ECS would refuse or never start them, said before any call (exit 2)."""
    names = [c["name"] for c in containers]
    if names.count(names[0]) > 1:
        raise ConfigError(
            f"{phase.path}: containers: a container is named {names[0]}, the service's container_name (the app's)",
            fix="give it another name",
        )
    problems = container_graph.problems(containers)
    by_name = {c["name"]: c for c in containers}
    for container in containers:
        for needed, condition in container_graph.dependencies(container):
            if condition == "HEALTHY" and needed in by_name and "healthCheck" not in by_name[needed]:
                problems.append(
                    f"{container['name']} waits for {needed} to be HEALTHY, but {needed} has no container_health_check"
                )
    if problems:
        raise ConfigError(
            f"{phase.path}: depends_on: " + "; ".join(problems),
            fix=f"depend only on containers of the task ({', '.join(names)}), without a cycle; only a "
            "non-essential container can be waited for to COMPLETE or SUCCESS",
        )


def normalize(definition: dict[str, Any]) -> dict[str, Any]:
    """The comparable part of a rendered or a live definition."""
    result = {k: definition[k] for k in RENDERED_KEYS if definition.get(k) not in (None, [], {})}
    containers = []
    for container in definition.get("containerDefinitions", []):
        kept = {k: container[k] for k in CONTAINER_KEYS if container.get(k) not in (None, [], {})}
        if kept.get("cpu") == 0:  # ECS's default, which DescribeTaskDefinition spells out
            del kept["cpu"]
        if "environment" in kept:
            kept["environment"] = sorted(kept["environment"], key=lambda e: e["name"])
        containers.append(kept)
    # The order of a task's containers means nothing to ECS (dependsOn orders their start).
    result["containerDefinitions"] = sorted(containers, key=lambda c: str(c.get("name")))
    return result


def fingerprint(definition: dict[str, Any]) -> str:
    canonical = json.dumps(normalize(definition), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Revision:
    arn: str
    definition: dict[str, Any]
    tags: dict[str, str]

    @property
    def number(self) -> int:
        return int(self.arn.rsplit(":", 1)[1])

    @property
    def phase(self) -> str | None:
        return self.tags.get(TAG_PHASE)

    @property
    def verified_at(self) -> str | None:
        return self.tags.get(TAG_VERIFIED)

    @property
    def verified_as_it_is(self) -> bool:
        """Its verified-at tag belongs to this definition: the fingerprint tag snailtrail wrote at registration is
        this definition's own. A tool that registers a copy with another image keeps the tags (ecs-deploy's
        deploy --image), verified-at and fingerprint included, and the copy was never verified."""
        tagged = self.tags.get(TAG_FINGERPRINT)
        return bool(self.verified_at) and tagged == fingerprint(self.definition)

    @property
    def active(self) -> bool:
        """False once deregistered (INACTIVE): UpdateService refuses it, yet the tag lookup still returns it.
        https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html"""
        return self.definition.get("status", "ACTIVE") == "ACTIVE"

    @property
    def image(self) -> str:
        return self.definition["containerDefinitions"][0]["image"]


class RevisionHistory:
    """The family's revisions and their tags, as one run sees them: each revision described at most
    once, and the tags of every revision snailtrail registered read in one Resource Groups Tagging
    call (one request per 100 such revisions in the account and region), which verified revisions,
    the rollback target and an identical revision are then chosen from. Only when that API refuses
    does this fall back to describing the newest ``HISTORY_DEPTH`` revisions one by one.

    Reading the tags once is safe because a deploy or rollback holds the deploy lock: the only tags
    that change during the run are the ones it writes itself, and ``add_tags`` records those.
    """

    def __init__(self, ecs: EcsApi, family: str, tagging: Any = None) -> None:
        self._ecs = ecs
        self._family = family
        self._tagging = tagging
        self._arns: list[str] | None = None
        self._described: dict[str, Revision] = {}
        self._tags: dict[str, dict[str, str]] | None = None  # arn -> tags of the family's snailtrail revisions
        # Tags this run wrote: the tag lookup lags behind TagResource, so what the run did itself is
        # known from its own record, whether the lookup came before or after.
        self._written: dict[str, dict[str, str]] = {}

    def get(self, arn: str) -> Revision:
        if arn not in self._described:
            definition, tags = self._ecs.describe_task_definition(arn)
            self._described[arn] = Revision(
                definition["taskDefinitionArn"], definition, tags | self._written.get(arn, {})
            )
        return self._described[arn]

    def add_tags(self, arn: str, tags: dict[str, str]) -> None:
        """This run tagged ``arn`` (registered it, or marked it verified): keep what it knows true."""
        self._written[arn] = self._written.get(arn, {}) | tags
        described = self._described.get(arn)
        if described is not None:
            self._described[arn] = Revision(described.arn, described.definition, described.tags | tags)

    def newest_first(self) -> list[Revision]:
        if self._arns is None:
            self._arns = self._ecs.list_task_definitions(self._family)[:HISTORY_DEPTH]
        return [self.get(arn) for arn in self._arns]

    def _snailtrail_revisions(self) -> list[Revision] | None:
        """The family's revisions snailtrail registered (tags only), asked once a run; None if the API refuses.

        Every revision snailtrail registers carries its phase tag, so that one key finds them all,
        verified or not; a filter per question (verified, this fingerprint) would cost a call each.
        """
        if self._tags is None and self._tagging is not None:
            from botocore.exceptions import BotoCoreError, ClientError

            found: dict[str, dict[str, str]] = {}
            try:
                for page in self._tagging.get_paginator("get_resources").paginate(
                    ResourceTypeFilters=["ecs:task-definition"],
                    TagFilters=[{"Key": TAG_PHASE}],
                    ResourcesPerPage=100,  # the API's largest page
                ):
                    for item in page["ResourceTagMappingList"]:
                        arn = item["ResourceARN"]
                        if arn.rsplit("/", 1)[-1].rsplit(":", 1)[0] == self._family:
                            found[arn] = {t["Key"]: t["Value"] for t in item.get("Tags", [])}
            except (ClientError, BotoCoreError):
                self._tagging = None  # not allowed or not there: describe revisions instead, for the whole run
            else:
                self._tags = found
        if self._tags is None:
            return None
        merged = {arn: self._tags.get(arn, {}) | tags for arn, tags in self._written.items()}
        found = self._tags | {arn: tags for arn, tags in merged.items() if TAG_PHASE in tags}
        return [Revision(arn, {}, tags) for arn, tags in found.items()]

    def verified(self) -> list[Revision]:
        """Every verified revision (tags only: ``get`` one for its definition)."""
        tagged = self._snailtrail_revisions()
        return [r for r in (self.newest_first() if tagged is None else tagged) if r.verified_at]

    def find_identical(self, rendered: dict[str, Any], phase: str, running: str | None = None) -> Revision | None:
        """A revision of the same phase with the same definition: verifying it must not relabel another phase's.

        ``running``, the service's current revision, counts too when snailtrail never registered it
        (no phase tag) and its definition is the same: adopting a service (`snailtrail init`) must not
        replace what runs with a copy of it.

        The tags only point at candidates. A tool that copies a revision to change it (ecs-deploy
        does, to set a new image) copies snailtrail's tags as well, so a candidate counts only when
        its own definition has the fingerprint; it is described to be reused anyway, so checking
        costs a call only for such a copy.
        """
        wanted = fingerprint(rendered)
        if running is not None:
            live = self.get(running)
            if live.phase is None and fingerprint(live.definition) == wanted:
                return live
        tagged = self._snailtrail_revisions()
        pool = self.newest_first() if tagged is None else sorted(tagged, key=lambda r: r.number, reverse=True)
        for candidate in pool:
            if candidate.phase == phase and candidate.tags.get(TAG_FINGERPRINT, wanted) == wanted:
                revision = self.get(candidate.arn)
                if fingerprint(revision.definition) == wanted and revision.active:
                    return revision
        return None

    def last_verified(self, exclude: frozenset[str] = frozenset()) -> Revision | None:
        """The most recently verified ACTIVE revision (by verification time)."""
        candidates = [r for r in self.verified() if r.arn not in exclude]
        newest_first = sorted(candidates, key=lambda r: (r.verified_at or "", r.number), reverse=True)
        return next((r for r in map(self.get, (c.arn for c in newest_first)) if r.active), None)
