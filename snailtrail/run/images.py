"""Build, push and smoke-test a phase's image with the docker SDK.

docker is imported lazily: ``snailtrail --help`` and every command that does not build must not
pay for it (or need it installed).
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from snailtrail.config.phases import Phase
from snailtrail.config.settings import Settings
from snailtrail.errors import ConfigError, DeployFailed
from snailtrail.plan.source_revision import git_revision
from snailtrail.ui import Reporter

Progress = Callable[[str], None]
BASE_IMAGE_ENV = "SNAILTRAIL_BASE_IMAGE"
EXTRA_CA_ENV = "SNAILTRAIL_EXTRA_CA_CERT"


def docker_client() -> Any:
    import docker
    from docker.errors import DockerException

    try:
        client = docker.from_env(timeout=300)
        client.ping()
    except DockerException as exc:
        raise DeployFailed(
            f"no Docker engine reachable ({exc})",
            fix="start one (scripts/ensure-docker-engine.sh), or pass --image URI to skip the build",
        ) from None
    return client


@dataclass(frozen=True)
class BuiltImage:
    local_tag: str
    image_id: str


@dataclass(frozen=True)
class PushedImage:
    reference: str  # repository@sha256:..., what the task definition names
    digest: str
    registry: str | None = None  # None: no registry, the local engine's image stands in


# Build args Docker accepts without an ARG line (https://docs.docker.com/reference/dockerfile/#predefined-args).
PREDEFINED_BUILD_ARGS = frozenset(
    name
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY", "NO_PROXY", "ALL_PROXY")
    for name in (proxy, proxy.lower())
)
_ARG_LINE = re.compile(r"^\s*ARG\s+(.+)$", re.IGNORECASE | re.MULTILINE)


def declared_build_args(dockerfile: Path) -> set[str] | None:
    """The names a Dockerfile's ARG instructions declare (``ARG A=1 B``), or None when it cannot be read."""
    try:
        text = dockerfile.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None  # the build names the missing Dockerfile itself
    return {item.split("=", 1)[0] for line in _ARG_LINE.findall(text) for item in line.split()}


def parse_build_args(pairs: list[str] | None, settings: Settings, phase: Phase) -> dict[str, str]:
    """``KEY=VALUE`` options, as ``docker build --build-arg`` takes them; each KEY must be one the phase's
    Dockerfile declares, where Docker would only warn that it was not consumed, after the whole build."""
    parsed = {}
    dockerfile = settings.root / phase.manifest.image.dockerfile
    declared = declared_build_args(dockerfile)
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ConfigError(f"--build-arg {pair!r} is not KEY=VALUE", fix="write it as --build-arg NAME=value")
        if declared is not None and key not in declared | PREDEFINED_BUILD_ARGS:
            raise ConfigError(
                f"--build-arg {key}: {phase.manifest.image.dockerfile} declares no ARG {key}",
                fix=f"use one it declares: {', '.join(sorted(declared)) or 'none'}",
            )
        parsed[key] = value
    return parsed


def build_args(declared: dict[str, str], extra: dict[str, str] | None = None) -> dict[str, str]:
    args = dict(declared) | (extra or {})
    if os.environ.get(BASE_IMAGE_ENV):
        args["BASE_IMAGE"] = os.environ[BASE_IMAGE_ENV]
    ca_path = os.environ.get(EXTRA_CA_ENV)
    if ca_path:
        try:
            args["EXTRA_CA_CERT"] = Path(ca_path).read_text(encoding="ascii")
        except OSError as exc:
            raise ConfigError(
                f"{EXTRA_CA_ENV}={ca_path}: cannot read it ({exc})", fix="point it at a PEM file"
            ) from None
    return args


def local_tag(
    settings: Settings, phase: Phase, extra_args: dict[str, str] | None = None, container: str | None = None
) -> str:
    """repository:PHASE[-CONTAINER]-GITREV, plus a digest of extra build args so a drill build never replaces the
    real one; ``container`` names another container's own image."""
    tag = f"{settings.service.image_repository}:{phase.name}-{container + '-' if container else ''}"
    tag += git_revision(settings.root)
    architecture = settings.environment.cpu_architecture
    if architecture is not None:  # an image per platform: a sandbox build never stands in for a Fargate one
        tag += f"-{architecture.value.lower()}"
    if extra_args:
        import hashlib

        tag += "-args" + hashlib.sha256(repr(sorted(extra_args.items())).encode()).hexdigest()[:8]
    return tag


def existing(settings: Settings, phase: Phase, container: str | None = None) -> BuiltImage:
    """The image built earlier for this phase (or one of its containers) and revision (``deploy --no-build``)."""
    from docker.errors import ImageNotFound

    tag = local_tag(settings, phase, container=container)
    try:
        return BuiltImage(tag, docker_client().images.get(tag).id)
    except ImageNotFound:
        raise ConfigError(
            f"no local image {tag} (--no-build needs one)",
            fix=f"run `snailtrail build {phase.name}` first, or drop --no-build",
        ) from None


def build(settings: Settings, phase: Phase, progress: Progress, extra_args: dict[str, str] | None = None) -> BuiltImage:
    """The phase's image: the app's, and that of every container whose image is the phase's."""
    spec = phase.manifest.image
    source = BuildSource(spec.dockerfile, spec.context, tuple(sorted(spec.build_args.items())), "image")
    return build_image(settings, phase, source, local_tag(settings, phase, extra_args), progress, extra_args)


@dataclass(frozen=True)
class BuildSource:
    """What a build is made of: the same source is built once, whichever containers run it."""

    dockerfile: str
    context: str
    build_args: tuple[tuple[str, str], ...]
    field: str  # where the manifest names it, for errors


def sidecar_builds(phase: Phase) -> dict[str, str | None]:
    """For each other container with a Dockerfile, whose build it runs: None for the phase's own (the app's),
    else the first container of that source (each source is built once, under that container's tag)."""
    spec = phase.manifest.image
    first: dict[tuple[str, str, tuple[tuple[str, str], ...]], str | None] = {
        (spec.dockerfile, spec.context, tuple(sorted(spec.build_args.items()))): None
    }
    builds: dict[str, str | None] = {}
    for sidecar in phase.manifest.containers:
        image = sidecar.image
        if image is not None and image.dockerfile is not None:
            key = (image.dockerfile, image.context, tuple(sorted(image.build_args.items())))
            builds[sidecar.name] = first.setdefault(key, sidecar.name)
    return builds


def build_sidecars(
    settings: Settings, phase: Phase, progress: Progress, app: BuiltImage, extra_args: dict[str, str] | None = None
) -> dict[str, BuiltImage]:
    """The images of the phase's other containers that name a Dockerfile, by container name, each source once."""
    built: dict[str | None, BuiltImage] = {None: app}
    for index, sidecar in enumerate(phase.manifest.containers):
        owner = sidecar_builds(phase).get(sidecar.name, None)
        if owner is not None and owner not in built and sidecar.image is not None and sidecar.image.dockerfile:
            image = sidecar.image
            source = BuildSource(
                image.dockerfile, image.context, tuple(sorted(image.build_args.items())), f"containers[{index}].image"
            )
            tag = local_tag(settings, phase, extra_args, container=owner)
            built[owner] = build_image(settings, phase, source, tag, progress, extra_args)
    return {name: built[owner] for name, owner in sidecar_builds(phase).items()}


def build_image(
    settings: Settings,
    phase: Phase,
    spec: BuildSource,
    tag: str,
    progress: Progress,
    extra_args: dict[str, str] | None = None,
) -> BuiltImage:
    context = (settings.root / spec.context).resolve()
    dockerfile = (settings.root / spec.dockerfile).resolve()
    for path, what in ((context, f"{spec.field}.context"), (dockerfile, f"{spec.field}.dockerfile")):
        if not path.exists():
            raise ConfigError(
                f"{phase.path}: {what} {path} does not exist", fix=f"fix {what} (paths are relative to {settings.root})"
            )
    architecture = settings.environment.cpu_architecture
    client = docker_client()
    tail: list[str] = []
    image_id = None
    for chunk in client.api.build(
        path=str(context),
        dockerfile=str(dockerfile),
        tag=tag,
        buildargs=build_args(dict(spec.build_args), extra_args),
        # The tasks' CPU, not this machine's: an arm64 laptop builds X86_64 images for Fargate.
        platform=architecture.docker_platform if architecture else None,
        network_mode="host",
        rm=True,
        forcerm=True,
        decode=True,
    ):
        if "error" in chunk:
            raise DeployFailed(
                f"build of {phase.name} failed: {chunk['error'].strip()}\n" + "\n".join(tail[-15:]),
                fix=f"fix {spec.dockerfile}; `snailtrail build {phase.name} --verbose` shows the whole log",
            )
        line = chunk.get("stream", "").rstrip()
        if line:
            tail.append(line)
            if line.startswith("Step "):
                progress(line)
        if "aux" in chunk and "ID" in chunk["aux"]:
            image_id = chunk["aux"]["ID"]
    if image_id is None:
        image_id = client.images.get(tag).id
    return BuiltImage(tag, image_id)


def registry_host(
    settings: Settings, clients: Any, sandbox_registry: str | None
) -> tuple[str | None, dict[str, str] | None]:
    """Where images go, and the credentials: ECR's token, a named registry, or None (local engine only)."""
    from snailtrail.aws.ecr import ecr_registry

    registry = settings.environment.registry
    named_ecr = ecr_registry(registry)
    if registry == "ecr" or named_ecr is not None:
        # ECR's token opens every host of the registry (FIPS, dual-stack); the region is the host's.
        ecr = clients.client("ecr", named_ecr.region if named_ecr else None)
        data = ecr.get_authorization_token()["authorizationData"][0]
        user, password = base64.b64decode(data["authorizationToken"]).decode().split(":", 1)
        host = registry if named_ecr else data["proxyEndpoint"].removeprefix("https://").removeprefix("http://")
        return host, {"username": user, "password": password}
    if registry == "sandbox":
        return sandbox_registry, None
    return registry, None


def push(
    built: BuiltImage,
    host: str,
    auth: dict[str, str] | None,
    repository: str,
    on_layer: Callable[[str, str, int | None, int | None], None],
) -> PushedImage:
    client = docker_client()
    tag = remote_tag(built)
    remote = f"{host}/{repository}"
    client.images.get(built.local_tag).tag(remote, tag)
    digest = None
    for chunk in client.api.push(remote, tag=tag, stream=True, decode=True, auth_config=auth):
        if "error" in chunk:
            raise DeployFailed(
                f"push to {remote}:{tag} failed: {chunk['error']}",
                fix=f"check that the registry {host} is reachable and the credentials allow pushes",
            )
        if "id" in chunk:
            detail = chunk.get("progressDetail") or {}
            on_layer(chunk["id"], chunk.get("status", ""), detail.get("current"), detail.get("total"))
        if "aux" in chunk and chunk["aux"].get("Digest"):
            digest = chunk["aux"]["Digest"]
    if digest is None:
        raise DeployFailed(
            f"push to {remote}:{tag} reported no digest", fix="retry the push; check the registry's logs"
        )
    return PushedImage(f"{remote}@{digest}", digest, host)


def remote_tag(built: BuiltImage) -> str:
    """The pushed tag: the local tag's phase and revision, and the image's own id, so a tag always names one
    image. A repository with IMMUTABLE tags refuses a second image under a tag, and a rebuilt image with
    other content must not be taken for the one that was tested."""
    return f"{built.local_tag.rsplit(':', 1)[1]}-{built.image_id.removeprefix('sha256:')[:12]}"


def already_in_ecr(clients: Any, host: str, repository: str, tag: str) -> str | None:
    """The digest ECR holds under the tag, or None: an image pushed before is not pushed again (with IMMUTABLE tags
    ECR would refuse it), the deploy uses its digest."""
    from snailtrail.aws.ecr import EcrApi, ecr_registry

    registry = ecr_registry(host)
    if registry is None:
        return None
    return EcrApi(clients, registry.region).digest_of(registry.registry_id, repository, tag)


def local_reference(built: BuiltImage) -> PushedImage:
    """Without a registry the local engine's image id stands in for the digest (the sandbox says so)."""
    return PushedImage(built.local_tag, built.image_id)


def publish(
    built: BuiltImage, settings: Settings, clients: Any, sandbox_registry: str | None, reporter: Reporter
) -> PushedImage:
    """Push to the environment's registry with per-layer progress (`push` and deploy's push step),
    or with no registry name the local engine's image."""
    host, auth = registry_host(settings, clients, sandbox_registry)
    if host is None:
        return local_reference(built)
    repository = settings.service.image_repository
    digest = already_in_ecr(clients, host, repository, remote_tag(built))
    if digest is not None:
        reporter.detail(f"{host}/{repository}:{remote_tag(built)} is in ECR already ({digest}): not pushed again")
        return PushedImage(f"{host}/{repository}@{digest}", digest, host)
    with reporter.layers("push") as on_layer:
        return push(built, host, auth, settings.service.image_repository, on_layer)


def publish_sidecars(
    app: BuiltImage,
    app_reference: str,
    builds: dict[str, BuiltImage],
    settings: Settings,
    clients: Any,
    sandbox_registry: str | None,
    reporter: Reporter,
) -> dict[str, str]:
    """The other containers' builds pushed, each once however many containers run it (the app's build is
    already pushed as ``app_reference``): what each container's definition names, by container name."""
    references = {app.local_tag: app_reference}
    for built in builds.values():
        if built.local_tag not in references:
            references[built.local_tag] = publish(built, settings, clients, sandbox_registry, reporter).reference
    return {name: references[built.local_tag] for name, built in builds.items()}
