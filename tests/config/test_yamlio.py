"""Valid YAML that hides a mistake or costs the machine is refused, naming the file, the field and the line:
duplicate keys, anchors and aliases, and nesting deeper than any configuration needs; exit 2, no AWS call."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from snailtrail.cli import run
from tests.conftest import write_config

ALIAS_BOMB = """
description: test phase 1
image: {dockerfile: images/simple/Dockerfile, context: service}
container:
  port: 8000
  environment: {PORT: "8000"}
  health_check: {path: /health, grace_period_s: 0}
  desired_count: 1
success:
  http:
    - path: /health
      status: 200
      json:
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: [*c, *c, *c, *c, *c, *c, *c, *c, *c]
"""


@pytest.fixture
def project(tmp_path: Path, aws_env: None) -> Path:
    write_config(tmp_path, "http://127.0.0.1:9")
    return tmp_path


def plan(project: Path, capsys: pytest.CaptureFixture[str], calls: Counter[str]) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", str(project / "snailtrail.yaml"), "plan", "phase-1"])
    return code, capsys.readouterr().err


def test_a_duplicate_key_in_the_configuration_is_named_not_silently_overridden(
    project: Path, capsys: pytest.CaptureFixture[str], record_api_calls: Counter[str]
) -> None:
    config = project / "snailtrail.yaml"
    twice = (
        "    endpoint_url: http://127.0.0.1:4566\n    region: us-east-1\n    endpoint_url: http://attacker.example\n"
    )
    config.write_text(config.read_text().replace("    region: us-east-1\n", twice, 1))
    code, err = plan(project, capsys, record_api_calls)
    assert code == 2
    assert "environments.unit.endpoint_url: a duplicate key" in err and "snailtrail.yaml at line" in err
    assert not record_api_calls


def test_an_alias_bomb_in_a_success_probe_is_refused_naming_the_field(
    project: Path, capsys: pytest.CaptureFixture[str], record_api_calls: Counter[str]
) -> None:
    (project / "phases" / "phase-1-simple.yaml").write_text(ALIAS_BOMB)
    code, err = plan(project, capsys, record_api_calls)
    assert code == 2
    assert "phase-1-simple.yaml at line 14" in err and "success.http[0].json.a: anchors" in err
    assert not record_api_calls


@pytest.mark.parametrize("style", ["block", "flow"])
def test_deep_nesting_is_refused_with_exit_2_not_a_recursion_error(
    project: Path, capsys: pytest.CaptureFixture[str], record_api_calls: Counter[str], style: str
) -> None:
    manifest = project / "phases" / "phase-1-simple.yaml"
    deep = (
        "[" * 5000 + "]" * 5000 if style == "flow" else "".join(f"{' ' * i}k:\n" for i in range(600)) + " " * 600 + "x"
    )
    manifest.write_text(manifest.read_text() + f"description: {deep}\n" if style == "flow" else deep)
    code, err = plan(project, capsys, record_api_calls)
    assert code == 2
    assert "nested more than 32 levels deep" in err and "RecursionError" not in err
    assert not record_api_calls
