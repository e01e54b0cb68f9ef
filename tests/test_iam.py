"""Least privilege: verify runs under moto's IAM enforcement with the verify policy alone, deploy with the
deploy policy alone, and the verify policy cannot deploy."""

from __future__ import annotations

import json

import boto3
import pytest
from moto.core import enable_iam_authentication

from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"


def user_with_policy(sandbox: Sandbox, purpose: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto authorizes DynamoDB calls against Resource "*" only, so the table-scoped statements are
    # widened here for the emulator; AWS itself matches them against the table's ARN.
    document = json.loads(sandbox.run("iam-policy", "--for", purpose).stdout)
    for statement in document["Statement"]:
        if "table/" in str(statement["Resource"]):
            statement["Resource"] = "*"
    document = json.dumps(document)
    iam = boto3.client("iam", region_name="us-east-1")
    iam.create_user(UserName=purpose)
    iam.put_user_policy(UserName=purpose, PolicyName="snailtrail", PolicyDocument=document)
    key = iam.create_access_key(UserName=purpose)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])


def test_the_policy_is_valid_json_naming_the_state_table(sandbox: Sandbox) -> None:
    document = json.loads(sandbox.run("iam-policy", "--for", "deploy").stdout)
    actions = [
        a for s in document["Statement"] for a in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])
    ]
    assert "ecs:UpdateService" in actions and "ssm:GetParameter" not in actions
    assert any("table/snailtrail-state" in str(s["Resource"]) for s in document["Statement"])
    assert sandbox.run("iam-policy", "--for", "everything").exit_code == 2


def test_verify_runs_with_the_verify_policy_alone(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    user_with_policy(sandbox, "verify", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.run("verify", "--json")
        denied = sandbox.deploy("phase-1", GOOD)
    checks = {c["name"]: c for c in result.json()["checks"]}
    # moto 5.2 refuses every Route 53 call under IAM enforcement, even with Action "*": the one
    # check that cannot be judged here; every other check ran with the verify policy alone.
    unjudged = [c["name"] for c in checks.values() if "could not be checked" in c["summary"]]
    assert unjudged == ["dns ownership"]
    assert [c["name"] for c in checks.values() if c["status"] == "fail"] == ["dns ownership"]
    assert denied.exit_code == 2 and "AWS refused" in denied.stderr


def test_deploy_runs_with_the_deploy_policy_alone(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0  # the service exists; the deploy updates it
    user_with_policy(sandbox, "deploy", monkeypatch)
    with enable_iam_authentication():
        result = sandbox.deploy("phase-2", "fake.local/shine:phase-2-good")
    assert result.exit_code == 0, result.stderr
