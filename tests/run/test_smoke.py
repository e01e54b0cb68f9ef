"""smoke of a task of several containers: run together on the local engine as ECS runs them, the app probed."""

from __future__ import annotations

from pathlib import Path

import pytest

from snailtrail.config.phases import Phase, SidecarSpec, load_phases
from snailtrail.config.settings import Settings, load_settings
from snailtrail.run.smoke import smoke_task
from tests.conftest import BASE_IMAGE, require_engine

pytestmark = pytest.mark.docker


def site_phase(production_config: Path, init_script: str) -> tuple[Settings, Phase]:
    """phase-1 serving /srv, which an init container fills before the app starts (SUCCESS)."""
    require_engine()
    settings = load_settings(str(production_config), "production")
    phase = load_phases(settings.phases_path)[0]
    app = phase.container.model_copy(
        update={
            "command": ["python3", "-m", "http.server", "8000", "--directory", "/srv"],
            "mounts": {"site": "/srv"},
            "depends_on": {"init": "SUCCESS"},
        }
    )
    init = SidecarSpec(
        name="init",
        essential=False,
        image={"reference": BASE_IMAGE},
        command=["sh", "-c", init_script],
        mounts={"site": "/srv"},
    )
    manifest = phase.manifest.model_copy(update={"container": app, "containers": [init]})
    return settings, phase.model_copy(update={"manifest": manifest})


def test_the_app_answers_after_its_init_container_filled_the_shared_volume(production_config: Path) -> None:
    settings, phase = site_phase(production_config, "echo ok > /srv/health")
    result = smoke_task(settings, phase, BASE_IMAGE, {}, 60, lambda _: None)
    assert result.ok, result.summary
    assert result.summary.startswith("2 containers started in dependsOn order in one network namespace; /health")


def test_a_failing_init_container_fails_the_smoke_test_with_the_agents_reason(production_config: Path) -> None:
    settings, phase = site_phase(production_config, "echo no models >&2; exit 1")
    result = smoke_task(settings, phase, BASE_IMAGE, {}, 60, lambda _: None)
    assert not result.ok
    assert "the task stopped (exit code 143): app: CannotStartContainerError" in result.summary
    assert "[init (exit 1)]" in result.summary


def test_on_an_aws_environment_the_containers_get_the_task_roles_credentials_and_the_region(
    production_config: Path, aws_env: None
) -> None:
    """As ECS gives a task its role's credentials: the deploy's smoke step assumes the environment's task role."""
    from moto import mock_aws

    from snailtrail.context import Context
    from snailtrail.run.image_steps import Artifacts, smoke
    from snailtrail.ui import Reporter

    # The init container serves /health only when it got temporary credentials and the environment's region.
    settings, phase = site_phase(
        production_config,
        'test "${AWS_ACCESS_KEY_ID#ASIA}" != "$AWS_ACCESS_KEY_ID" && test -n "$AWS_SESSION_TOKEN" '
        '&& test "$AWS_REGION" = eu-west-1 && echo ok > /srv/health',
    )
    assert settings.task_role_arn == "arn:aws:iam::111122223333:role/shine-task"
    with mock_aws():
        summary = smoke(Context(settings, Reporter()), phase, Artifacts(image=BASE_IMAGE))
    assert summary.startswith("2 containers started in dependsOn order"), summary
