"""No secret value ever reaches stdout, stderr, the trail or the local cache."""

from __future__ import annotations

import boto3

from tests.conftest import Sandbox

PLANTED = "planted-s3cret-value-7f3a"


def everything_written(sandbox: Sandbox, *outputs: str) -> str:
    cache = "".join(p.read_text() for p in (sandbox.root / ".snailtrail").glob("*") if p.is_file())
    return "".join(outputs) + cache


def test_a_plain_secret_value_is_refused_without_being_echoed(sandbox: Sandbox) -> None:
    sandbox.edit_phase("phase-1", lambda doc: doc["container"]["environment"].update(DB_PASSWORD=PLANTED))
    result = sandbox.run("deploy", "phase-1", "--image", "fake.local/shine:x", "--skip-smoke", "--yes")
    assert result.exit_code == 2 and "DB_PASSWORD" in result.stderr and "looks like a secret" in result.stderr
    assert PLANTED not in everything_written(sandbox, result.stdout, result.stderr)


def test_referenced_secret_values_never_appear_anywhere(sandbox: Sandbox) -> None:
    boto3.client("ssm", region_name="us-east-1").put_parameter(Name="/shine/token", Value=PLANTED, Type="SecureString")
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/shine/token"
    sandbox.edit_phase("phase-1", lambda doc: doc["container"].update(secrets={"API_TOKEN": arn}))
    outputs = []
    for args in (
        (
            "deploy",
            "phase-1",
            "--image",
            "fake.local/shine:x",
            "--skip-smoke",
            "--yes",
            "--json",
            "--timeout",
            "20",
            "--poll-interval",
            "0.05",
        ),
        ("verify", "--json"),
        ("status", "--json"),
        ("trail",),
        ("plan", "phase-1"),
        ("verify",),
    ):
        result = sandbox.run(*args)
        outputs += [result.stdout, result.stderr]
    assert arn in "".join(outputs)  # the reference is shown ...
    assert PLANTED not in everything_written(sandbox, *outputs)  # ... the value never is
