"""No secret value ever reaches stdout, stderr, the trail or the local cache."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest

from tests.conftest import Sandbox
from tests.state.test_notifications import Hook, configure

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


LEAKED = "S3cr3tPass"


@pytest.fixture
def webhook() -> Iterator[Hook]:
    served = Hook()
    yield served
    served.server.shutdown()


LEAKY = ["sh", "-c", f"echo 'connecting to postgres://app:{LEAKED}@db/shine' >&2; exit 1"]


def test_a_stopped_tasks_log_lines_are_redacted_on_every_way_out(sandbox: Sandbox, webhook: Hook) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    configure(sandbox, {"url": webhook.url})
    sandbox.break_phase("phase-2", LEAKY)
    deployed = sandbox.deploy("phase-2", "fake.local/shine:phase-2-leaky", "--json")
    assert deployed.exit_code == 1
    shown = [sandbox.run("trail", "--format", "json"), sandbox.run("trail"), sandbox.run("status", "--json")]
    table = boto3.client("dynamodb", region_name="us-east-1").scan(TableName="snailtrail-state")["Items"]
    ways_out = {
        "stdout and --json": deployed.stdout + "".join(r.stdout for r in shown),
        "stderr": deployed.stderr + "".join(r.stderr for r in shown),
        "trail table": json.dumps(table),
        "local cache": everything_written(sandbox),
        "webhooks": json.dumps(webhook.received),
    }
    # The line itself is shown, its password is not.
    assert "postgres://***@db/shine" in ways_out["trail table"] and "postgres://***@db" in ways_out["webhooks"]
    assert {name: LEAKED in text for name, text in ways_out.items()} == dict.fromkeys(ways_out, False)


def test_the_plan_diff_never_prints_the_live_revisions_secret_values(sandbox: Sandbox) -> None:
    import boto3 as aws

    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    ecs = aws.client("ecs", region_name="us-east-1")
    live = ecs.describe_task_definition(taskDefinition="shine")["taskDefinition"]
    container = live["containerDefinitions"][0]
    container["environment"] = [*container.get("environment", []), {"name": "DB_PASSWORD", "value": PLANTED}]
    keys = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn")
    arn = ecs.register_task_definition(**{k: live[k] for k in keys if k in live}, containerDefinitions=[container])
    ecs.update_service(cluster="shine", service="shine", taskDefinition=arn["taskDefinition"]["taskDefinitionArn"])
    plans = [sandbox.run("plan", "phase-2"), sandbox.run("plan", "phase-2", "--json")]
    assert all(p.exit_code == 0 for p in plans), plans[0].stderr
    diff = plans[1].json()["task_definition_diff"]
    assert '"name": "DB_PASSWORD"' in diff and '"value": "***"' in diff  # the change is shown, not the value
    assert PLANTED not in "".join(p.stdout + p.stderr for p in plans)


@pytest.mark.parametrize(
    "where, value, says",
    [
        ("container_environment", "postgres://app:pw@db/shine", "credentials"),
        ("container_environment", "AKIAIOSFODNN7EXAMPLE", "AWS access key"),
        ("build_args", "Bearer abcdefghijklmnop", "bearer token"),
        ("endpoint_url", "http://admin:pw@127.0.0.1:4566", "credentials"),
        ("public_url", "https://user@shine.example.com", "credentials"),
        ("webhook", "https://chat.example.com/hooks/123e4567-e89b-12d3-a456-426614174000", "UUID"),
        ("webhook", "https://discord.com/api/webhooks/1/abc", "webhook URL of discord.com"),
        ("webhook", "https://user:pw@chat.example.com/deploys", "credentials"),
    ],
)
def test_a_secret_looking_configured_value_is_refused_naming_the_field_never_the_value(
    sandbox: Sandbox, where: str, value: str, says: str
) -> None:
    if where == "build_args":
        sandbox.edit_phase("phase-1", lambda doc: doc["image"].update(build_args={"DB_URL": value}))
    elif where == "webhook":
        sandbox.edit_config(lambda d: d["environments"]["unit"].update(notifications={"webhooks": [{"url": value}]}))
    elif where == "container_environment":
        sandbox.edit_config(lambda d: d["environments"]["unit"].update(container_environment={"DB_URL": value}))
    else:
        sandbox.edit_config(lambda d: d["environments"]["unit"].update({where: value}))
    result = sandbox.run("plan", "phase-1")
    assert result.exit_code == 2, result.stderr
    field = "notifications" if where == "webhook" else where
    assert field in result.stderr and says in result.stderr
    assert value not in result.stdout + result.stderr


def test_the_webhook_token_is_never_printed_when_its_url_cannot_be_sent(
    sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = "T0AAAA/B0BBBB/abcdefghijkl mnopqrstuvwx"
    monkeypatch.setenv("DEPLOY_HOOK_URL", f"https://hooks.example.com/services/{token}")
    configure(sandbox, {"url_env": "DEPLOY_HOOK_URL"})
    result = sandbox.deploy("phase-1", "fake.local/shine:phase-1-good")
    assert result.exit_code == 0
    trail = sandbox.run("trail", "--format", "json").stdout
    assert "notification.failed" in trail
    assert "abcdefghijkl" not in result.stdout + result.stderr + trail + everything_written(sandbox)
