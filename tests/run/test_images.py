"""Images are built for the tasks' CPU, and smoke refuses an image of another architecture."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.config.phases import load_phases
from snailtrail.config.settings import Settings, load_settings
from snailtrail.run import images, smoke


class RecordingEngine:
    """A Docker engine that records what it was asked to build and holds one image of a given architecture."""

    def __init__(self, architecture: str) -> None:
        self.builds: list[dict[str, Any]] = []
        self.api = SimpleNamespace(build=self._build)
        self.images = SimpleNamespace(
            get=lambda _: SimpleNamespace(attrs={"Architecture": architecture}, id="sha256:1")
        )
        self.containers = SimpleNamespace(run=self._run)

    def _build(self, **kwargs: Any) -> list[dict[str, Any]]:
        self.builds.append(kwargs)
        return [{"aux": {"ID": "sha256:1"}}]

    def _run(self, *_: Any, **__: Any) -> None:
        raise AssertionError("smoke must not start an image of the wrong architecture")


@pytest.fixture
def production(production_config: Path) -> Settings:
    return load_settings(str(production_config), "production")


def test_the_build_targets_the_environments_platform_and_tags_it(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = RecordingEngine("amd64")
    monkeypatch.setattr(images, "docker_client", lambda: engine)
    phase = load_phases(production.phases_path)[1]
    built = images.build(production, phase, lambda _: None)
    assert engine.builds[0]["platform"] == "linux/amd64"
    assert built.local_tag.endswith("-x86_64")


def test_smoke_refuses_an_arm64_image_for_x86_64_tasks(production: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(smoke, "docker_client", lambda: RecordingEngine("arm64"))
    phase = load_phases(production.phases_path)[1]
    result = smoke.smoke("shine:phase-2", production, phase, 5, lambda _: None)
    assert not result.ok and "built for arm64" in result.summary and "X86_64" in result.summary


def test_each_source_is_built_once_whichever_containers_run_it(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.config.phases import SidecarSpec

    engine = RecordingEngine("amd64")
    monkeypatch.setattr(images, "docker_client", lambda: engine)
    phase = load_phases(production.phases_path)[1]
    agent = {"dockerfile": "images/simple/Dockerfile", "context": "service"}
    sidecars = [
        SidecarSpec(name="models", essential=False),  # the phase's own image: the app's build
        SidecarSpec(name="same", image={"dockerfile": "images/hybrid/Dockerfile", "context": "service"}),
        SidecarSpec(name="agent", image=agent),
        SidecarSpec(name="agent-two", image=agent),
        SidecarSpec(name="proxy", image={"reference": "registry.example/proxy@sha256:" + "b" * 64}),
    ]
    phase = phase.model_copy(update={"manifest": phase.manifest.model_copy(update={"containers": sidecars})})
    app = images.build(production, phase, lambda _: None)
    others = images.build_sidecars(production, phase, lambda _: None, app)
    assert [b["dockerfile"].rsplit("/", 2)[-2] for b in engine.builds] == ["hybrid", "simple"]  # two builds, not four
    assert others["same"] == app
    assert others["agent"] == others["agent-two"] and others["agent"].local_tag.startswith("shine:phase-2-agent-")
    assert set(others) == {"same", "agent", "agent-two"}  # the others run their reference or the phase's image


def test_each_other_image_is_pushed_once_and_the_apps_build_not_again(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed: list[str] = []

    def publish(built: images.BuiltImage, *_: Any) -> images.PushedImage:
        pushed.append(built.local_tag)
        return images.PushedImage(f"registry/{built.local_tag}@sha256:1", "sha256:1", "registry")

    monkeypatch.setattr(images, "publish", publish)
    app, agent = (
        images.BuiltImage("shine:phase-2-x", "sha256:a"),
        images.BuiltImage("shine:phase-2-agent-x", "sha256:b"),
    )
    builds = {"models": app, "agent": agent, "agent-two": agent}
    references = images.publish_sidecars(app, "registry/app@sha256:a", builds, production, None, None, None)  # type: ignore[arg-type]
    assert pushed == ["shine:phase-2-agent-x"]
    assert references == {
        "models": "registry/app@sha256:a",
        "agent": "registry/shine:phase-2-agent-x@sha256:1",
        "agent-two": "registry/shine:phase-2-agent-x@sha256:1",
    }


@pytest.mark.parametrize(
    "host", ["123456789012.dkr-ecr.eu-central-1.on.aws", "123456789012.dkr.ecr-fips.eu-central-1.amazonaws.com"]
)
def test_a_dual_stack_or_fips_ecr_host_is_pushed_to_with_an_ecr_token(
    production: Settings, host: str, aws_env: None
) -> None:
    import base64

    from botocore.stub import Stubber

    from snailtrail.aws.session import AwsClients

    settings = production.model_copy(
        update={
            "project": production.project.model_copy(
                update={
                    "environments": {
                        **production.project.environments,
                        "production": production.environment.model_copy(update={"registry": host, "profile": None}),
                    }
                }
            )
        }
    )
    clients = AwsClients(settings.environment)
    token = base64.b64encode(b"AWS:secret-token").decode()
    with Stubber(clients.client("ecr", "eu-central-1")) as stub:
        stub.add_response(
            "get_authorization_token",
            {
                "authorizationData": [
                    {
                        "authorizationToken": token,
                        "proxyEndpoint": "https://123456789012.dkr.ecr.eu-central-1.amazonaws.com",
                    }
                ]
            },
        )
        assert images.registry_host(settings, clients, None) == (host, {"username": "AWS", "password": "secret-token"})


def test_an_image_already_in_ecr_under_its_tag_is_not_pushed_again(
    production: Settings, monkeypatch: pytest.MonkeyPatch, aws_env: None
) -> None:
    """IMMUTABLE tags: ECR refuses a second push under a tag; the tag names the image's own id, so what ECR holds
    under it is this image, and the deploy uses its digest."""
    import json

    import boto3
    from moto import mock_aws

    from snailtrail.aws.session import AwsClients
    from snailtrail.ui import Reporter

    host = "123456789012.dkr.ecr.eu-west-1.amazonaws.com"  # moto's account
    environments = production.project.environments
    changed = environments["production"].model_copy(update={"registry": host, "profile": None})
    settings = production.model_copy(
        update={
            "project": production.project.model_copy(update={"environments": {**environments, "production": changed}})
        }
    )
    built = images.BuiltImage("shine:phase-2-abc123-x86_64", "sha256:" + "f" * 64)
    tag = images.remote_tag(built)
    assert tag == "phase-2-abc123-x86_64-ffffffffffff"

    def no_push(*_: Any, **__: Any) -> None:
        raise AssertionError("pushed again")

    monkeypatch.setattr(images, "push", no_push)
    with mock_aws():
        ecr = boto3.client("ecr", region_name="eu-west-1")
        ecr.create_repository(repositoryName="shine", imageTagMutability="IMMUTABLE")
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
            "config": {},
            "layers": [],
        }
        digest = ecr.put_image(repositoryName="shine", imageManifest=json.dumps(manifest), imageTag=tag)["image"][
            "imageId"
        ]["imageDigest"]
        pushed = images.publish(built, settings, AwsClients(settings.environment), None, Reporter(quiet=True))
    assert pushed.reference == f"{host}/shine@{digest}"
