"""Invalid manifests and configurations: exit 2, the file and the field named, no AWS call."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from snailtrail.cli import run
from snailtrail.config.phases import load_phases, select_phase
from tests.conftest import FIXTURES, write_config

VALID = yaml.safe_load((FIXTURES / "phases" / "phase-1-simple.yaml").read_text())


def _with(path: list[str], value: object) -> dict:
    document = yaml.safe_load(yaml.safe_dump(VALID))
    node = document
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    return document


CASES = {
    "unknown key": (_with(["container", "prot"], 8000), "container.prot", "Extra inputs are not permitted"),
    "wrong type": (_with(["container", "port"], "eighty"), "container.port", "valid integer"),
    "port out of range": (_with(["container", "port"], 70000), "container.port", "less than or equal to 65535"),
    "missing image": ({k: v for k, v in VALID.items() if k != "image"}, "image", "Field required"),
    "plain secret": (
        _with(["container", "environment", "DB_PASSWORD"], "hunter2"),
        "container.environment",
        "looks like a secret",
    ),
    "secret not a reference": (
        _with(["container", "secrets"], {"API_TOKEN": "abc"}),
        "container.secrets",
        "must be an SSM parameter or Secrets Manager ARN",
    ),
    "PORT disagrees": (
        _with(["container", "environment", "PORT"], "8080"),
        "container",
        "PORT=8080 disagrees with port 8000",
    ),
    "probe path": (_with(["success", "http"], [{"path": "health"}]), "success.http[0].path", "should match"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_invalid_manifest_exits_2_naming_the_field(
    case: str, tmp_path: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture
) -> None:
    document, field, message = CASES[case]
    config = write_config(tmp_path, "http://127.0.0.1:9")
    manifest = tmp_path / "phases" / "phase-1-simple.yaml"
    manifest.write_text(yaml.safe_dump(document))
    code = run(["--config", str(config), "deploy", "phase-1", "--image", "x", "--skip-smoke", "--yes"])
    err = capsys.readouterr().err
    assert code == 2
    assert "phase-1-simple.yaml" in err and field in err and message in err
    assert "Traceback" not in err
    assert not record_api_calls


@pytest.mark.parametrize(
    "text, expected",
    [
        ("container: [unclosed", "invalid YAML at line 1"),
        ("- a list\n- not a mapping\n", "expected a mapping"),
        ("image: &x [*x]\n", "image: anchors (&name) and aliases (*name) are not accepted"),
    ],
)
def test_malformed_yaml_exits_2(
    text: str,
    expected: str,
    tmp_path: Path,
    aws_env: None,
    record_api_calls: Counter[str],
    capsys: pytest.CaptureFixture,
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "phases" / "phase-1-simple.yaml").write_text(text)
    assert run(["--config", str(config), "plan", "phase-1"]) == 2
    assert expected in capsys.readouterr().err
    assert not record_api_calls


def test_config_errors_name_the_field(tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    document = yaml.safe_load(config.read_text())
    document["service"]["load_balancer"]["listener_port"] = "http"
    document["default_environment"] = "nowhere"
    config.write_text(yaml.safe_dump(document))
    assert run(["--config", str(config), "status"]) == 2
    err = capsys.readouterr().err
    assert "service.load_balancer.listener_port" in err


def test_unknown_environment_and_missing_config_exit_2(
    tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture
) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert run(["--config", str(config), "--env", "moon", "status"]) == 2
    assert "environment 'moon' is not defined" in capsys.readouterr().err
    assert run(["--config", str(tmp_path / "absent.yaml"), "status"]) == 2
    assert "configuration not found" in capsys.readouterr().err


def test_phase_selection_by_name_prefix_short_name_and_number() -> None:
    phases = load_phases(FIXTURES / "phases")
    assert select_phase(phases, "phase-2").short_name == "hybrid"
    assert select_phase(phases, "hybrid").name == "phase-2"
    assert select_phase(phases, "3").short_name == "enhanced"
    assert select_phase(phases, "enh").name == "phase-3"


def test_unknown_phase_lists_the_known_ones(tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture) -> None:
    config = write_config(tmp_path, "http://127.0.0.1:9")
    assert run(["--config", str(config), "plan", "phase-9"]) == 2
    assert "phase-1 (simple), phase-2 (hybrid), phase-3 (enhanced)" in capsys.readouterr().err


def test_the_repository_configuration_and_phases_are_valid() -> None:
    from snailtrail.config.settings import load_settings

    settings = load_settings(str(FIXTURES.parents[1] / "snailtrail.yaml"))
    assert settings.environment_name == "sandbox"
    assert [p.short_name for p in load_phases(settings.phases_path)] == ["simple", "hybrid", "enhanced", "full"]


def test_environment_adds_to_every_container_but_never_port(
    tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture
) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.plan.taskdef import render

    config = write_config(tmp_path, "http://127.0.0.1:9", container_environment={"SHINE_MODEL_BUCKET": "b"})
    settings = load_settings(str(config))
    phase = load_phases(settings.phases_path)[0]
    environment = {
        e["name"]: e["value"] for e in render(settings, phase, "img")["containerDefinitions"][0]["environment"]
    }
    assert environment == {"PORT": "8000", "SHINE_PHASE": "simple", "SHINE_MODEL_BUCKET": "b"}
    config = write_config(tmp_path, "http://127.0.0.1:9", container_environment={"PORT": "9000"})
    assert run(["--config", str(config), "status"]) == 2
    assert "environments.unit.container_environment" in capsys.readouterr().err


def _two_containers(**app: object) -> dict:
    """phase-1 with an init container the app waits for and a metrics sidecar."""
    document = _with(["container", "mounts"], {"models": "/models"})
    document["container"].update(app)
    document["containers"] = [
        {
            "name": "models",
            "essential": False,
            "command": ["fetch-models", "/models"],
            "mounts": {"models": "/models"},
        },
        {
            "name": "metrics",
            "image": {"reference": "registry.example/metrics@sha256:" + "a" * 64},
            "ports": [9102],
            "depends_on": {"app": "START"},
            "container_health_check": {"command": ["CMD", "true"], "interval_s": 5},
            "secrets": {"METRICS_KEY": "arn:aws:ssm:us-east-1:123456789012:parameter/metrics"},
            "log": {"stream_prefix": "agents"},
        },
    ]
    document["container"]["depends_on"] = {"models": "SUCCESS"}
    return document


BAD_CONTAINERS = {
    "depends on an unknown container": (
        lambda d: d["container"]["depends_on"].update({"modles": "SUCCESS"}),
        "depends_on",
        "app depends on modles, which is not a container of the task",
    ),
    "a cycle": (
        lambda d: (
            d["containers"][0].update({"depends_on": {"metrics": "START"}})
            or d["containers"][1]["depends_on"].update({"models": "START"})
        ),
        "depends_on",
        "dependsOn has a cycle",
    ),
    "waits for an essential container to exit": (
        lambda d: d["containers"][0].update({"essential": True}),
        "depends_on",
        "app waits for models to SUCCESS, but models is essential",
    ),
    "HEALTHY without a health check": (
        lambda d: (
            d["container"]["depends_on"].update({"metrics": "HEALTHY"})
            or d["containers"][1].pop("container_health_check")
            or d["containers"][1].pop("depends_on")
        ),
        "depends_on",
        "waits for metrics to be HEALTHY, but metrics has no container_health_check",
    ),
    "a sidecar named as the app": (
        lambda d: d["containers"][1].update({"name": "app"}),
        "containers",
        "a container is named app",
    ),
    "an unknown condition": (
        lambda d: d["container"]["depends_on"].update({"models": "READY"}),
        "container.depends_on.models",
        "Input should be 'START', 'COMPLETE', 'SUCCESS' or 'HEALTHY'",
    ),
    "the same name twice": (
        lambda d: d["containers"][1].update({"name": "models"}),
        "containers",
        "models named more than once",
    ),
    "no memory left for the app": (
        lambda d: d["containers"][0].update({"memory": 512}),
        "containers",
        "containers take 640 MiB of the task's 512",
    ),
    "an image both built and referenced": (
        lambda d: d["containers"][1]["image"].update({"dockerfile": "images/x/Dockerfile"}),
        "containers[1].image",
        "give either dockerfile",
    ),
    "a health check that is not Docker's": (
        lambda d: d["containers"][1]["container_health_check"].update({"command": ["curl", "localhost"]}),
        "containers[1].container_health_check.command",
        "starts with CMD",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_CONTAINERS))
def test_a_task_ecs_would_refuse_exits_2_naming_the_field_before_any_call(
    case: str, tmp_path: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture
) -> None:
    spoil, field, message = BAD_CONTAINERS[case]
    document = _two_containers()
    spoil(document)
    config = write_config(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "phases" / "phase-1-simple.yaml").write_text(yaml.safe_dump(document))
    code = run(["--config", str(config), "plan", "phase-1", "--image", "x"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert "phase-1-simple.yaml" in err and field in err and message in err
    assert not record_api_calls


def test_every_container_is_rendered_with_its_image_dependencies_checks_and_own_log_stream(
    tmp_path: Path, aws_env: None
) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.plan.taskdef import render

    config = write_config(tmp_path, "http://127.0.0.1:9")
    (tmp_path / "phases" / "phase-1-simple.yaml").write_text(yaml.safe_dump(_two_containers()))
    settings = load_settings(str(config))
    definition = render(settings, load_phases(settings.phases_path)[0], "repo@sha256:app")
    app, models, metrics = definition["containerDefinitions"]
    assert [app["name"], models["name"], metrics["name"]] == ["app", "models", "metrics"]
    assert app["essential"] and not models["essential"] and metrics["essential"]
    assert app["image"] == models["image"] == "repo@sha256:app"  # no image: the phase's own
    assert metrics["image"] == "registry.example/metrics@sha256:" + "a" * 64
    assert app["dependsOn"] == [{"containerName": "models", "condition": "SUCCESS"}]
    assert metrics["healthCheck"] == {
        "command": ["CMD", "true"],
        "interval": 5,
        "timeout": 5,
        "retries": 3,
    }
    assert metrics["portMappings"] == [{"containerPort": 9102, "hostPort": 9102, "protocol": "tcp"}]
    assert metrics["secrets"] == [
        {"name": "METRICS_KEY", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/metrics"}
    ]
    assert models["command"] == ["fetch-models", "/models"]
    assert definition["volumes"] == [{"name": "models"}]
    assert (
        app["mountPoints"]
        == models["mountPoints"]
        == [{"sourceVolume": "models", "containerPath": "/models", "readOnly": False}]
    )
    prefixes = [c["logConfiguration"]["options"]["awslogs-stream-prefix"] for c in (app, models, metrics)]
    assert prefixes == ["shine", "shine", "agents"]  # awslogs names each stream prefix/container/task
    # The task's memory is shared: the app keeps what the others leave.
    assert (app["memory"], models["memory"], metrics["memory"], definition["memory"]) == (256, 128, 128, "512")


def test_the_single_container_form_renders_as_before(tmp_path: Path, aws_env: None) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.plan.taskdef import render

    settings = load_settings(str(write_config(tmp_path, "http://127.0.0.1:9")))
    definition = render(settings, load_phases(settings.phases_path)[0], "img")
    assert "volumes" not in definition
    assert set(definition["containerDefinitions"][0]) == {
        "name",
        "image",
        "essential",
        "portMappings",
        "environment",
        "memory",
        "logConfiguration",
    }
    assert definition["containerDefinitions"][0]["memory"] == 512
