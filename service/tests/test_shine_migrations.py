"""The schema migrations a deploy runs before the service changes (python -m shine.migrations)."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from shine.migrations import DEFAULT_KEY, LATEST, MigrationError, main, migrate

BUCKET = "shine-models"


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("SHINE_SCHEMA_KEY", raising=False)
    monkeypatch.setenv("SHINE_MODEL_BUCKET", BUCKET)
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        yield client


def recorded(client) -> dict:
    return json.loads(client.get_object(Bucket=BUCKET, Key=DEFAULT_KEY)["Body"].read())


def test_migrate_applies_every_step_up_and_records_the_version_it_leaves(s3, capsys):
    assert main(["migrate", "--to", "2"]) == 0
    out = capsys.readouterr().out
    assert "up 1:" in out and "up 2:" in out and "schema now at version 2" in out
    state = recorded(s3)
    assert state["version"] == 2
    assert [(a["version"], a["direction"]) for a in state["applied"]] == [(1, "up"), (2, "up")]


def test_migrate_again_changes_nothing(s3, capsys):
    assert main(["migrate", "--to", "2"]) == 0
    before = s3.head_object(Bucket=BUCKET, Key=DEFAULT_KEY)["ETag"]
    capsys.readouterr()
    assert main(["migrate", "--to", "2"]) == 0
    assert "schema already at version 2: nothing to do" in capsys.readouterr().out
    assert s3.head_object(Bucket=BUCKET, Key=DEFAULT_KEY)["ETag"] == before


def test_migrate_down_reverts_steps_newest_first(s3, capsys):
    assert main(["migrate", "--to", "2"]) == 0
    assert main(["migrate", "--to", "0"]) == 0
    state = recorded(s3)
    assert state["version"] == 0
    assert [(a["version"], a["direction"]) for a in state["applied"][2:]] == [(2, "down"), (1, "down")]
    capsys.readouterr()
    assert main(["status"]) == 0
    assert capsys.readouterr().out.strip() == "schema at version 0"


def test_a_migration_that_lost_a_race_writes_nothing(s3):
    # Another migration wrote the state object after this one read it: the conditional write fails.
    client = boto3.client("s3", region_name="us-east-1")
    real_get = client.get_object

    def read_then_race(**kwargs):
        answer = real_get(**kwargs)
        client.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=json.dumps({"version": 1, "applied": []}).encode())
        return answer

    migrate(client, BUCKET, DEFAULT_KEY, 1)
    client.get_object = read_then_race
    with pytest.raises(MigrationError, match="changed while migrating"):
        migrate(client, BUCKET, DEFAULT_KEY, 2)
    assert recorded(s3)["version"] == 1


def test_a_schema_newer_than_the_code_is_refused(s3, capsys):
    s3.put_object(Bucket=BUCKET, Key=DEFAULT_KEY, Body=json.dumps({"version": LATEST + 1, "applied": []}).encode())
    assert main(["migrate", "--to", str(LATEST)]) == 1
    assert "newer than this code knows" in capsys.readouterr().err
    assert recorded(s3)["version"] == LATEST + 1


def test_bad_arguments_exit_2_and_write_nothing(s3, monkeypatch):
    with pytest.raises(SystemExit) as out_of_range:
        main(["migrate", "--to", str(LATEST + 1)])
    assert out_of_range.value.code == 2
    monkeypatch.delenv("SHINE_MODEL_BUCKET")
    with pytest.raises(SystemExit) as no_bucket:
        main(["migrate"])
    assert no_bucket.value.code == 2
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET)
