"""Images are built for the tasks' CPU, and smoke refuses an image of another architecture."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail import images
from snailtrail.config import Settings, load_settings
from snailtrail.phases import load_phases


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
    monkeypatch.setattr(images, "docker_client", lambda: RecordingEngine("arm64"))
    phase = load_phases(production.phases_path)[1]
    result = images.smoke("shine:phase-2", production, phase, 5, lambda _: None)
    assert not result.ok and "built for arm64" in result.summary and "X86_64" in result.summary


def test_each_source_is_built_once_whichever_containers_run_it(
    production: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from snailtrail.phases import SidecarSpec

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
