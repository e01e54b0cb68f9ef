"""The command line itself: start-up cost, global options anywhere, version."""

from __future__ import annotations

import json
import subprocess
import sys

from snailtrail.cli import hoist_global_options


def test_help_imports_neither_boto3_nor_docker() -> None:
    code = (
        "import sys, runpy\n"
        "sys.argv = ['snailtrail', '--help']\n"
        "try:\n    runpy.run_module('snailtrail', run_name='__main__')\n"
        "except SystemExit:\n    pass\n"
        "heavy = [m for m in ('boto3', 'botocore', 'docker', 'moto') if m in sys.modules]\n"
        "print('HEAVY=' + ','.join(heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert "deploy" in result.stdout
    assert "HEAVY=\n" in result.stdout or result.stdout.rstrip().endswith("HEAVY=")


def test_global_options_after_the_command_name() -> None:
    assert hoist_global_options(["status", "--json", "--env", "prod"]) == ["--json", "--env", "prod", "status"]
    assert hoist_global_options(["deploy", "phase-1", "--config=x.yaml", "-v"]) == [
        "--config=x.yaml",
        "-v",
        "deploy",
        "phase-1",
    ]
    assert hoist_global_options(["trail", "--", "--json"]) == ["trail", "--", "--json"]


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "snailtrail", "--version"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and result.stdout.startswith("snailtrail ")


def test_unknown_option_is_a_usage_error() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "snailtrail", "deploy", "phase-1", "--frobnicate"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "No such option" in result.stderr and "Traceback" not in result.stderr


def test_an_error_never_prints_a_secret_on_stderr_or_in_json(capsys) -> None:
    from snailtrail.errors import SnailtrailError
    from snailtrail.global_options import GlobalOptions

    error = SnailtrailError("cannot reach postgres://app:S3cr3tPass@db", fix="unset DB_PASSWORD=hunter2 first")
    GlobalOptions.report_error(error, json_output=True)
    printed = capsys.readouterr()
    assert "S3cr3tPass" not in printed.out + printed.err and "hunter2" not in printed.out + printed.err
    assert "postgres://***@db" in printed.err
    assert json.loads(printed.out)["error"] == "cannot reach postgres://***@db"
