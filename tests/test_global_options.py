"""Nothing starts unless asked: against a sandbox environment that is not running, only `sandbox up` and
`deploy` start the sandbox, and only once the configuration, the phases and the arguments are valid."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import yaml

from snailtrail.cli import run
from tests.conftest import FIXTURES, REPO


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The repository's configuration (default environment: the sandbox, with seed commands) and the test phases,
    with no sandbox running."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SNAILTRAIL_CONFIG", "SNAILTRAIL_ENV"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "snailtrail.yaml").write_text((REPO / "snailtrail.yaml").read_text())
    (tmp_path / "phases").mkdir()
    for phase in FIXTURES.glob("phases/*.yaml"):
        (tmp_path / "phases" / phase.name).write_text(phase.read_text())
    dockerfile = tmp_path / "images" / "hybrid" / "Dockerfile"
    dockerfile.parent.mkdir(parents=True)
    dockerfile.write_text('ARG BASE_IMAGE=python:3.11-slim\nFROM ${BASE_IMAGE}\nARG SHINE_DRILL_WRONG_PORT=""\n')
    return tmp_path


@pytest.fixture
def starts(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Every sandbox daemon started, recorded instead of made (it would provision and run the seed commands)."""
    from snailtrail.sandbox import control

    daemons: list[list[str]] = []

    def start_daemon(argv: list[str], **options: Any) -> Any:
        daemons.append(argv)
        raise SystemExit("the sandbox daemon would start here")

    monkeypatch.setattr(control, "subprocess", SimpleNamespace(Popen=start_daemon, DEVNULL=subprocess.DEVNULL))
    monkeypatch.setattr(control, "docker_reachable", lambda: True)
    monkeypatch.setattr(control, "find_registry", lambda reporter: None)
    return daemons


def snailtrail(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = run(["--config", str(project / "snailtrail.yaml"), *args])
    out, err = capsys.readouterr()
    return code, out + err


@pytest.mark.parametrize(
    "command",
    [
        ["plan", "phase-2"],
        ["deploy", "phase-2", "--dry-run"],
        ["status"],
        ["verify"],
        ["rollback"],
        ["logs"],
        ["unlock", "--force"],
        ["abort"],
        ["push", "phase-2"],
        ["sandbox", "break", "sg-rule"],
        ["sandbox", "heal"],
    ],
    ids=" ".join,
)
def test_a_command_other_than_deploy_says_the_sandbox_is_not_running_and_starts_nothing(
    project: Path, starts: list[str], capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, output = snailtrail(project, capsys, *command)
    assert code == 2
    assert "the sandbox of environment sandbox is not running" in output
    assert "snailtrail sandbox up" in output
    assert starts == []


def test_deploy_says_it_starts_the_sandbox_once_its_arguments_are_valid(
    project: Path, starts: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit, match="would start here"):
        snailtrail(project, capsys, "deploy", "phase-2", "--build-arg", "SHINE_DRILL_WRONG_PORT=8080")
    assert len(starts) == 1 and "snailtrail.sandbox.daemon" in starts[0]
    assert "deploy phase-2 starts the sandbox of environment sandbox" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (["deploy", "phase-9"], "phase-9"),
        (["deploy", "phase-2", "--build-arg", "SHINE_DRIL_WRONG_PORT=8080"], "SHINE_DRIL_WRONG_PORT"),
        (["deploy", "phase-2", "--build-arg", "SHINE_DRILL_WRONG_PORT"], "is not KEY=VALUE"),
        (["deploy", "phase-2", "--strategy", "canry"], "--strategy canry"),
        (["verify", "--only", "dns-ownershp"], "dns-ownershp"),
        (["verify", "--phase", "phase-9"], "phase-9"),
        (["rollback", "--to", "phase-9"], "phase-9"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else value,
)
def test_a_typo_in_an_argument_is_named_with_exit_2_before_anything_starts(
    project: Path, starts: list[str], capsys: pytest.CaptureFixture[str], arguments: list[str], named: str
) -> None:
    code, output = snailtrail(project, capsys, *arguments)
    assert code == 2
    assert named in output
    assert "is not running" not in output  # the typo, not the sandbox, is what the operator must fix
    assert starts == []


BROKEN_PHASES = {
    "an unknown key": (lambda doc: doc["container"].update(memroy=512), "memroy"),
    "a negative memory": (lambda doc: doc["container"].update(memory=-512), "container.memory"),
    "an empty body": (lambda doc: doc.clear(), "phase-2-hybrid.yaml"),
}


@pytest.mark.parametrize("command", [["plan", "phase-2"], ["deploy", "phase-2"], ["sandbox", "up"]], ids=" ".join)
@pytest.mark.parametrize("fault", BROKEN_PHASES, ids=str)
def test_a_broken_phase_file_is_named_with_exit_2_and_starts_nothing(
    project: Path, starts: list[str], capsys: pytest.CaptureFixture[str], command: list[str], fault: str
) -> None:
    change, field = BROKEN_PHASES[fault]
    path = project / "phases" / "phase-2-hybrid.yaml"
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document) if document else "")
    code, output = snailtrail(project, capsys, *command)
    assert code == 2
    assert field in output and "Traceback" not in output
    assert starts == []


def test_a_live_daemon_that_does_not_answer_is_reported_and_never_doubled(
    project: Path, starts: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from tests.sandbox.test_control import closed_port, start_stand_in_daemon

    slow = start_stand_in_daemon()
    try:
        (project / ".snailtrail").mkdir()
        state = {"pid": slow.pid, "aws_endpoint_url": f"http://127.0.0.1:{closed_port()}", "sandbox_id": "abc"}
        (project / ".snailtrail" / "sandbox-sandbox.json").write_text(json.dumps(state))
        code, output = snailtrail(project, capsys, "status")
        assert code == 1 and f"the sandbox daemon (pid {slow.pid}) is running" in output
        code, output = snailtrail(project, capsys, "deploy", "phase-2")
        assert code == 1 and "does not answer" in output
        assert snailtrail(project, capsys, "trail")[0] == 0  # the local cache answers
    finally:
        slow.kill()
        slow.wait()
    assert starts == []
