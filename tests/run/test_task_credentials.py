"""The credentials a task's containers get when snailtrail runs them locally (smoke), against moto's STS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from snailtrail.config.settings import load_settings
from snailtrail.context import Context, Endpoints
from snailtrail.redaction import redact
from snailtrail.run.task_credentials import TaskCredentialsUnavailable, local_task_environment
from snailtrail.ui import Reporter
from tests.conftest import write_config

ROLE = "arn:aws:iam::123456789012:role/shine-task"


@pytest.fixture
def moto_account(aws_env: None) -> Iterator[None]:
    with mock_aws():
        trust = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole"}],
        }
        boto3.client("iam", region_name="us-east-1").create_role(
            RoleName="shine-task", AssumeRolePolicyDocument=json.dumps(trust)
        )
        yield


def context(tmp_path: Path, **environment: Any) -> Context:
    return Context(load_settings(str(write_config(tmp_path, "https://shine.example.com", **environment))), Reporter())


def identity(variables: dict[str, str]) -> str:
    """Who the variables sign as, asked as a container's SDK would."""
    sts = boto3.client(
        "sts",
        region_name=variables["AWS_REGION"],
        aws_access_key_id=variables["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=variables["AWS_SECRET_ACCESS_KEY"],
        aws_session_token=variables["AWS_SESSION_TOKEN"],
    )
    return str(sts.get_caller_identity()["Arn"])


def test_with_a_task_role_the_containers_get_the_assumed_roles_credentials_and_the_region(
    tmp_path: Path, moto_account: None
) -> None:
    variables = local_task_environment(context(tmp_path, task_role_arn=ROLE))
    assert set(variables) == {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_REGION",
        "AWS_DEFAULT_REGION",
    }
    assert variables["AWS_REGION"] == variables["AWS_DEFAULT_REGION"] == "us-east-1"
    assert identity(variables) == "arn:aws:sts::123456789012:assumed-role/shine-task/snailtrail-local-task"


def test_without_a_task_role_long_lived_keys_become_temporary_ones_of_the_same_identity(
    tmp_path: Path, moto_account: None
) -> None:
    variables = local_task_environment(context(tmp_path))
    assert variables["AWS_ACCESS_KEY_ID"] != "testing" and variables["AWS_SESSION_TOKEN"]  # never the operator's key
    assert variables["AWS_SECRET_ACCESS_KEY"] != "testing"


def test_temporary_session_credentials_are_passed_as_they_are(
    tmp_path: Path, moto_account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAEXAMPLEEXAMPLE12")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "a-session-token-of-a-role-session")
    variables = local_task_environment(context(tmp_path))
    assert variables["AWS_ACCESS_KEY_ID"] == "ASIAEXAMPLEEXAMPLE12"
    assert variables["AWS_SESSION_TOKEN"] == "a-session-token-of-a-role-session"


def test_every_value_handed_out_is_masked_in_what_snailtrail_prints_and_records(
    tmp_path: Path, moto_account: None
) -> None:
    variables = local_task_environment(context(tmp_path, task_role_arn=ROLE))
    secrets = [variables[n] for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")]
    # A container's last lines, as a smoke failure shows them: the token alone has no recognisable shape.
    shown = redact(f"fetch failed: token {secrets[2]} key {secrets[0]} secret {secrets[1]}")
    assert not any(secret in shown for secret in secrets) and shown.count("***") == 3


def test_a_role_the_operator_may_not_assume_stops_with_the_role_and_the_fix(
    tmp_path: Path, moto_account: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import ClientError

    ctx = context(tmp_path, task_role_arn=ROLE)
    denied = {
        "Error": {
            "Code": "AccessDenied",
            "Message": f"User: arn:aws:iam::123456789012:user/ops is not "
            f"authorized to perform: sts:AssumeRole on resource: {ROLE}",
        }
    }

    def refuse(**_: Any) -> None:  # what STS answers when the trust policy does not name the caller
        raise ClientError(denied, "AssumeRole")

    monkeypatch.setattr(ctx.clients.client("sts"), "assume_role", refuse)
    with pytest.raises(TaskCredentialsUnavailable) as refused:
        local_task_environment(ctx)
    assert refused.value.exit_code == 1
    assert ROLE in refused.value.message and "AccessDenied" in refused.value.message
    assert "trust policy" in (refused.value.fix or "") and "--skip-smoke" in (refused.value.fix or "")


def test_a_sandbox_gives_what_it_gives_its_own_tasks(project: Path) -> None:
    given = {"AWS_ENDPOINT_URL": "http://172.17.0.1:4566", "AWS_REGION": "us-east-1"}
    ctx = Context(load_settings(str(project)), Reporter(), Endpoints(None, None, None, task_environment=given))
    assert ctx.settings.environment_name == "sandbox"
    assert local_task_environment(ctx) == given
