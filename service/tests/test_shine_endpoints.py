"""Every endpoint, per phase, with the JSON keys the deployer relies on."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading

import pytest
from shine_testutil import encode, settings_for

from shine import __version__
from shine.logs import JsonFormatter, RequestIdFilter

ML_STATUS_KEYS = {"mode", "degraded", "reasons", "phase", "load_seconds", "components"}
COMPONENT_KEYS = {
    "models",
    "s3",
    "opencv",
    "face_detection",
    "enhanced_analyzer",
    "basic_analyzer",
    "last_analysis",
}
METRIC_KEYS = {"redness", "tone_evenness", "texture", "shine", "spot_count", "skin_fraction"}


@pytest.mark.parametrize("phase", ["simple", "hybrid", "enhanced", "full"])
def test_health_and_ready_every_phase(make_client, phase):
    client = make_client(SHINE_PHASE=phase)
    r = client.get("/health")
    assert r.status_code == 200
    assert r.json["status"] == "ok"
    assert r.json["phase"] == phase
    assert r.json["version"] == __version__
    ready = client.get("/ready")
    assert ready.status_code == 200 and ready.json["ready"] is True


def test_simple_phase_has_no_ml_endpoints(make_client):
    client = make_client(SHINE_PHASE="simple")
    for method, path in [("get", "/ml/status"), ("post", "/api/v1/analyze"), ("get", "/metrics")]:
        r = getattr(client, method)(path)
        assert r.status_code == 404
        assert r.json["error"] == "not_found"


def test_metrics_only_in_full(make_client):
    assert make_client(SHINE_PHASE="enhanced").get("/metrics").status_code == 404


def test_health_answers_while_models_load_and_ready_waits(make_app, monkeypatch):
    from shine.models import ModelManager

    release = threading.Event()
    original = ModelManager.load_all

    def slow_load(self):
        release.wait(10)
        original(self)

    monkeypatch.setattr(ModelManager, "load_all", slow_load)
    app = make_app(wait=False, SHINE_PHASE="full")
    client = app.test_client()
    try:
        assert client.get("/health").json["status"] == "ok"
        r = client.get("/ready")
        assert r.status_code == 503
        assert r.json["ready"] is False and r.json["mode"] == "loading"
        assert client.get("/ml/status").json["mode"] == "loading"
    finally:
        release.set()
    assert app.extensions["shine"]["runtime"].wait(10)
    assert client.get("/ready").status_code == 200


def test_health_imports_nothing_heavy():
    code = (
        "import sys\n"
        "from shine.app import create_app\n"
        "from shine.config import Settings\n"
        "app = create_app(Settings.from_env({'SHINE_PHASE': 'hybrid'}), start_ml=False)\n"
        "assert app.test_client().get('/health').status_code == 200\n"
        "print(','.join(m for m in ('numpy', 'cv2', 'boto3', 'PIL') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""


def test_ml_status_keys(make_client):
    body = make_client(SHINE_PHASE="full").get("/ml/status").json
    assert set(body) == ML_STATUS_KEYS
    assert set(body["components"]) == COMPONENT_KEYS
    assert body["mode"] == "enhanced" and body["degraded"] is False and body["reasons"] == []
    models = {m["name"]: m for m in body["components"]["models"]}
    assert set(models) == {"face-detector", "analyzer-params"}
    assert all(m["available"] and len(m["sha256"]) == 64 and m["version"] for m in models.values())
    assert body["components"]["face_detection"]["available"] is True


def test_hybrid_uses_basic_analyzer_with_face_detection(make_client, astronaut_jpeg):
    client = make_client(SHINE_PHASE="hybrid")
    status = client.get("/ml/status").json
    assert status["mode"] == "basic" and status["degraded"] is False
    r = client.post("/api/v1/analyze", data=astronaut_jpeg, content_type="image/jpeg")
    assert r.status_code == 200
    assert r.json["analyzer"] == "basic" and r.json["faces"]


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_analyze_multipart(make_client, astronaut, fmt):
    client = make_client(SHINE_PHASE="full")
    data = {"image": (io.BytesIO(encode(astronaut, fmt)), f"face.{fmt.lower()}", f"image/{fmt.lower()}")}
    r = client.post("/api/v1/analyze", data=data, content_type="multipart/form-data")
    assert r.status_code == 200, r.json
    body = r.json
    assert body["analyzer"] == "enhanced" and body["degraded"] is False
    assert body["region"] == "face" and len(body["faces"]) >= 1
    assert set(body["metrics"]) == METRIC_KEYS
    assert set(body["timings_ms"]) == {"decode_ms", "detect_ms", "metrics_ms", "total_ms"}
    assert body["image"] == {"format": fmt.lower(), "width": 512, "height": 512}
    last = client.get("/ml/status").json["components"]["last_analysis"]
    assert last["analyzer"] == "enhanced" and last["latency_ms"] > 0


def test_large_jpeg_boxes_in_original_coordinates(make_client, astronaut):
    import cv2

    big = cv2.resize(astronaut, (2048, 2048), interpolation=cv2.INTER_LINEAR)
    r = make_client(SHINE_PHASE="full").post("/api/v1/analyze", data=encode(big), content_type="image/jpeg")
    face = r.json["faces"][0]
    # The astronaut's face centre is near (220, 120) in the 512 px original.
    cx, cy = (face["x"] + face["width"] / 2) / 4, (face["y"] + face["height"] / 2) / 4
    assert abs(cx - 220) < 30 and abs(cy - 120) < 30


def test_metrics_endpoint(make_client, astronaut_jpeg):
    client = make_client(SHINE_PHASE="full")
    client.post("/api/v1/analyze", data=astronaut_jpeg, content_type="image/jpeg")
    client.post("/api/v1/analyze", data=b"nope", content_type="image/jpeg")
    r = client.get("/metrics")
    assert r.status_code == 200 and r.mimetype == "text/plain"
    text = r.get_data(as_text=True)
    assert 'shine_http_requests_total{endpoint="/api/v1/analyze",method="POST",status="200"} 1.0' in text
    assert 'shine_analysis_total{analyzer="enhanced",outcome="ok"} 1.0' in text
    assert 'shine_analysis_total{analyzer="none",outcome="rejected"} 1.0' in text
    assert 'shine_http_request_duration_seconds_bucket{endpoint="/api/v1/analyze"' in text
    assert 'shine_model_load_seconds{model="face-detector"}' in text
    assert "shine_ml_degraded 0.0" in text


def test_request_id_echoed_or_generated(make_client):
    client = make_client(SHINE_PHASE="simple")
    assert client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    generated = client.get("/health", headers={"X-Request-ID": "bad id <script>"}).headers["X-Request-ID"]
    assert len(generated) == 32 and generated.isalnum()


def test_json_logs_carry_request_id(make_app):
    app = make_app(SHINE_PHASE="full")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("shine.app")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        app.test_client().get("/health", headers={"X-Request-ID": "req-42"})
    finally:
        logger.removeHandler(handler)
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    access = [r for r in records if r.get("path") == "/health"]
    assert access and access[0]["request_id"] == "req-42" and access[0]["status"] == 200
    assert {"ts", "level", "logger", "msg", "duration_ms"} <= set(access[0])


def test_full_phase_logs_json_by_default(tmp_path):
    assert settings_for(tmp_path, SHINE_PHASE="full").log_format == "json"
    assert settings_for(tmp_path, SHINE_PHASE="hybrid").log_format == "text"


def test_cors_allowlist_in_full(make_client):
    closed = make_client(SHINE_PHASE="full")
    assert "Access-Control-Allow-Origin" not in closed.get("/health", headers={"Origin": "https://x.example"}).headers
    client = make_client(SHINE_PHASE="full", SHINE_CORS_ORIGINS="https://app.example")
    ok = client.get("/health", headers={"Origin": "https://app.example"})
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.example"
    denied = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in denied.headers
    assert ok.headers["X-Content-Type-Options"] == "nosniff"


def test_cors_open_by_default_before_full(make_client):
    r = make_client(SHINE_PHASE="hybrid").get("/health", headers={"Origin": "https://x.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "*"


def test_fail_requests_drill_stays_healthy_and_fails_users(tmp_path):
    from shine.app import create_app

    app = create_app(settings_for(tmp_path, SHINE_PHASE="simple", SHINE_DRILL_FAIL_REQUESTS="1"), start_ml=False)
    client = app.test_client()
    assert client.get("/health").status_code == 200
    answer = client.get("/ready")
    assert answer.status_code == 500 and answer.get_json()["error"] == "drill_failure"
