"""The model artifacts, their manifest and the publish/verify CLI."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from shine.analysis import DEFAULT_PARAMS
from shine.models import bundled_dir, load_manifest, sha256_of
from shine.models.__main__ import main


def test_bundled_artifacts_match_manifest():
    for art in load_manifest():
        assert sha256_of(bundled_dir() / art.file) == art.sha256, art.name


def test_params_artifact_matches_builtin_defaults():
    # Basic mode uses DEFAULT_PARAMS; the artifact must not silently drift.
    params = json.loads((bundled_dir() / "analyzer_params.json").read_text())
    assert {k: v for k, v in params.items() if k != "version"} == {
        k: v for k, v in DEFAULT_PARAMS.items() if k != "version"
    }


def test_verify_cli(capsys):
    assert main(["verify"]) == 0
    assert capsys.readouterr().out.count("ok ") == 2


@pytest.fixture
def s3(monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def test_publish_cli_then_fetch(s3, capsys, monkeypatch, tmp_path):
    assert main(["publish", "--bucket", "seed", "--create-bucket", "--prefix", "models/"]) == 0
    out = capsys.readouterr().out.split()
    assert "s3://seed/models/manifest.json" in out
    keys = {o["Key"] for o in s3.list_objects_v2(Bucket="seed")["Contents"]}
    assert keys == {a.key("models/") for a in load_manifest()} | {"models/manifest.json"}
    head = s3.head_object(Bucket="seed", Key=load_manifest()[0].key("models/"))
    assert head["Metadata"]["sha256"] == load_manifest()[0].sha256

    monkeypatch.setenv("SHINE_MODEL_BUCKET", "seed")
    monkeypatch.setenv("SHINE_MODEL_PREFIX", "models/")
    monkeypatch.setenv("SHINE_MODEL_CACHE", str(tmp_path))
    assert main(["fetch"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert all(m["available"] and m["source"] == "s3" for m in report["models"])
