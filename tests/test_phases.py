"""Invalid manifests and configurations: exit 2, the file and the field named, no AWS call."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml

from snailtrail.cli import run
from snailtrail.phases import load_phases, select_phase
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
    from snailtrail.config import load_settings

    settings = load_settings(str(FIXTURES.parents[1] / "snailtrail.yaml"))
    assert settings.environment_name == "sandbox"
    assert [p.short_name for p in load_phases(settings.phases_path)] == ["simple", "hybrid", "enhanced", "full"]


def test_environment_adds_to_every_container_but_never_port(
    tmp_path: Path, aws_env: None, capsys: pytest.CaptureFixture
) -> None:
    from snailtrail.config import load_settings
    from snailtrail.taskdef import render

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
