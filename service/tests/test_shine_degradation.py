"""Each way ML can fail ends in basic mode with a reason, never a crash."""

from __future__ import annotations

import socket
import sys

import boto3
import pytest
from moto import mock_aws

from shine.models import bundled_dir, load_manifest, publish

BUCKET = "shine-models-test"


@pytest.fixture
def aws(monkeypatch):
    """moto S3 with fake credentials; no real endpoint is ever contacted."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"):
        monkeypatch.delenv(key, raising=False)
    with mock_aws():
        yield boto3.client("s3", region_name="us-east-1")


def _analyze_is_basic(client, jpeg):
    r = client.post("/api/v1/analyze", data=jpeg, content_type="image/jpeg")
    assert r.status_code == 200, r.json
    assert r.json["analyzer"] == "basic" and r.json["degraded"] is True
    return r.json


def test_opencv_import_failing(make_client, monkeypatch, astronaut_jpeg):
    monkeypatch.setitem(sys.modules, "cv2", None)  # makes `import cv2` raise ImportError
    client = make_client(SHINE_PHASE="full")
    status = client.get("/ml/status").json
    assert status["mode"] == "basic" and status["degraded"] is True
    assert any(r.startswith("opencv_unavailable") for r in status["reasons"])
    assert status["components"]["opencv"]["available"] is False
    assert status["components"]["face_detection"]["available"] is False
    body = _analyze_is_basic(client, astronaut_jpeg)
    assert body["faces"] == [] and body["region"] == "frame"
    assert "face detection unavailable" in body["notes"][0]
    assert client.get("/ready").status_code == 200  # degraded is settled


def test_s3_models_load_and_then_serve_from_cache(make_client, aws):
    publish(BUCKET, client=aws, create_bucket=True)
    client = make_client(SHINE_PHASE="full", SHINE_MODEL_BUCKET=BUCKET, SHINE_MODEL_SOURCES="cache,s3")
    status = client.get("/ml/status").json
    assert status["mode"] == "enhanced" and not status["degraded"], status["reasons"]
    assert {m["source"] for m in status["components"]["models"]} == {"s3"}
    assert status["components"]["s3"]["reachable"] is True
    # Same cache, bucket gone: the verified cache is enough.
    aws.delete_objects(
        Bucket=BUCKET, Delete={"Objects": [{"Key": o["Key"]} for o in aws.list_objects_v2(Bucket=BUCKET)["Contents"]]}
    )
    again = make_client(SHINE_PHASE="full", SHINE_MODEL_BUCKET=BUCKET, SHINE_MODEL_SOURCES="cache,s3")
    status = again.get("/ml/status").json
    assert {m["source"] for m in status["components"]["models"]} == {"cache"} and not status["degraded"]
    # ... and says where the cached files came from (an init container fetching them for the app, say).
    assert {m["origin"] for m in status["components"]["models"]} == {"s3"}


def test_model_checksum_mismatch(make_client, aws, astronaut_jpeg):
    publish(BUCKET, client=aws, create_bucket=True)
    face = next(a for a in load_manifest() if a.name == "face-detector")
    aws.put_object(Bucket=BUCKET, Key=face.key("shine/models/"), Body=b"<opencv_storage>tampered</opencv_storage>")
    client = make_client(SHINE_PHASE="full", SHINE_MODEL_BUCKET=BUCKET, SHINE_MODEL_SOURCES="cache,s3")
    status = client.get("/ml/status").json
    assert status["degraded"] is True
    assert any(r.startswith("model_unavailable: face-detector") and "checksum mismatch" in r for r in status["reasons"])
    face_status = next(m for m in status["components"]["models"] if m["name"] == "face-detector")
    assert face_status["available"] is False
    # Params still verified, so the enhanced analyzer runs, without face detection.
    assert status["mode"] == "enhanced"
    r = client.post("/api/v1/analyze", data=astronaut_jpeg, content_type="image/jpeg")
    assert r.status_code == 200 and r.json["faces"] == [] and r.json["degraded"] is True


def test_corrupt_cache_is_replaced(make_app, tmp_path):
    face = next(a for a in load_manifest() if a.name == "face-detector")
    cached = tmp_path / "model-cache" / face.name / face.version / face.file
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"half a file")
    runtime = make_app(SHINE_PHASE="full").extensions["shine"]["runtime"]
    assert not runtime.degraded
    assert cached.read_bytes() == (bundled_dir() / face.file).read_bytes()
    assert any("cache: checksum mismatch" in e for e in runtime.manager.status["face-detector"].errors)


def test_missing_bucket_is_s3_unreachable(make_client, aws, astronaut_jpeg):
    client = make_client(SHINE_PHASE="enhanced", SHINE_MODEL_BUCKET="no-such-bucket", SHINE_MODEL_SOURCES="cache,s3")
    status = client.get("/ml/status").json
    assert status["mode"] == "basic" and status["degraded"]
    assert any(r.startswith("s3_unreachable") for r in status["reasons"])
    assert status["components"]["s3"]["reachable"] is False
    _analyze_is_basic(client, astronaut_jpeg)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_an_unreachable_s3_endpoint_is_tried_once_for_all_artifacts(make_client, monkeypatch, astronaut_jpeg):
    import shine.models

    endpoint = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    attempts: list[str] = []
    make_s3_client = shine.models.s3_client

    def counted_s3_client(settings):
        client = make_s3_client(settings)
        client.meta.events.register("before-send", lambda request, **_: attempts.append(request.url))
        return client

    monkeypatch.setattr(shine.models, "s3_client", counted_s3_client)
    client = make_client(SHINE_PHASE="full", SHINE_MODEL_BUCKET=BUCKET, SHINE_MODEL_SOURCES="cache,s3")
    # What keeps start-up short: the bucket check and its one retry (botocore's retries.max_attempts
    # counts retries), then no artifact of the manifest asks S3 again.
    assert len(load_manifest()) > 1 and attempts == [f"{endpoint}/{BUCKET}"] * 2
    status = client.get("/ml/status").json
    assert any(r.startswith("s3_unreachable") for r in status["reasons"])
    assert status["components"]["s3"]["endpoint"].startswith("http://127.0.0.1:")
    _analyze_is_basic(client, astronaut_jpeg)


def test_no_bucket_configured(make_client):
    status = make_client(SHINE_PHASE="hybrid", SHINE_MODEL_SOURCES="cache,s3").get("/ml/status").json
    assert status["degraded"] and status["mode"] == "basic"
    assert any("no bucket configured" in r for r in status["reasons"])
