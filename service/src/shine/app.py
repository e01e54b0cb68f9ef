"""Flask application factory: endpoints, request ids, errors as JSON."""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Any

from flask import Flask, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from shine import __version__
from shine.config import Settings
from shine.imaging import UploadError
from shine.ml import MLRuntime

log = logging.getLogger("shine.app")

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
_RAW_IMAGE_TYPES = {"image/jpeg", "image/png", "application/octet-stream"}


def _error(status: int, code: str, message: str) -> tuple[Response, int]:
    return jsonify(error=code, message=message, status=status, request_id=getattr(g, "request_id", None)), status


class _Metrics:
    """Prometheus metrics in a private registry (one app = one registry)."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.requests = Counter(
            "shine_http_requests", "HTTP requests", ["endpoint", "method", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "shine_http_request_duration_seconds",
            "HTTP request latency",
            ["endpoint"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 2.5, 5.0),
        )
        self.analyses = Counter(
            "shine_analysis", "Analyses by analyzer and outcome", ["analyzer", "outcome"], registry=self.registry
        )
        self.model_load = Gauge(
            "shine_model_load_seconds", "Time to resolve each model artifact", ["model"], registry=self.registry
        )
        self.ml_load = Gauge("shine_ml_load_seconds", "Time for the ML runtime to settle", registry=self.registry)
        self.degraded = Gauge("shine_ml_degraded", "1 when the ML runtime is degraded", registry=self.registry)

    def render(self, runtime: MLRuntime | None) -> Response:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        if runtime is not None:
            if runtime.manager is not None:
                for st in runtime.manager.status.values():
                    if st.load_seconds is not None:
                        self.model_load.labels(st.artifact.name).set(st.load_seconds)
            if runtime.load_seconds is not None:
                self.ml_load.set(runtime.load_seconds)
            self.degraded.set(1 if runtime.degraded else 0)
        return Response(generate_latest(self.registry), mimetype=CONTENT_TYPE_LATEST)


def _read_upload() -> tuple[bytes, str]:
    """The image bytes and their declared type, from multipart or a raw body."""
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        upload = request.files.get("image") or next(iter(request.files.values()), None)
        if upload is None:
            raise UploadError(400, "missing_file", "multipart upload has no file (use the field name 'image')")
        return upload.read(), upload.mimetype or ""
    if mimetype in _RAW_IMAGE_TYPES:
        return request.get_data(cache=False), mimetype
    if not request.content_length:
        raise UploadError(400, "empty_upload", "the upload is empty")
    raise UploadError(
        415,
        "unsupported_content_type",
        "send multipart/form-data with an 'image' file, or an image/jpeg or image/png body",
    )


def create_app(settings: Settings | None = None, start_ml: bool = True) -> Flask:
    """Build the app for ``settings`` (default: from the environment)."""
    settings = settings or Settings.from_env()
    app = Flask("shine")
    app.config["MAX_CONTENT_LENGTH"] = settings.max_upload_bytes
    app.json.sort_keys = False
    started = time.time()

    runtime = MLRuntime(settings) if settings.has("ml") else None
    metrics = _Metrics() if settings.has("metrics") else None
    analyze_lock = threading.Lock()
    app.extensions["shine"] = {"settings": settings, "runtime": runtime, "metrics": metrics}

    if settings.cors_origins:
        from flask_cors import CORS

        wildcard = "*" in settings.cors_origins
        origins: Any = "*" if wildcard else list(settings.cors_origins)
        CORS(app, origins=origins, send_wildcard=wildcard, expose_headers=["X-Request-ID"])

    @app.before_request
    def _start() -> tuple[Response, int] | None:
        incoming = request.headers.get("X-Request-ID", "")
        g.request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        g.t0 = time.perf_counter()
        if settings.drill_fail_requests and request.path != "/health":
            # Canary drill only (see docs/service.md): healthy to the load balancer, failing its users.
            return _error(500, "drill_failure", "SHINE_DRILL_FAIL_REQUESTS is set")
        return None

    @app.after_request
    def _finish(resp: Response) -> Response:
        elapsed = time.perf_counter() - getattr(g, "t0", time.perf_counter())
        endpoint = request.url_rule.rule if request.url_rule else "unmatched"
        resp.headers["X-Request-ID"] = getattr(g, "request_id", "-")
        if settings.has("hardening"):
            resp.headers["X-Content-Type-Options"] = "nosniff"
            resp.headers["X-Frame-Options"] = "DENY"
            resp.headers["Cache-Control"] = "no-store"
        if metrics is not None:
            metrics.requests.labels(endpoint, request.method, str(resp.status_code)).inc()
            metrics.latency.labels(endpoint).observe(elapsed)
        log.info(
            "%s %s %s %.1fms",
            request.method,
            request.path,
            resp.status_code,
            elapsed * 1000,
            extra={
                "method": request.method,
                "path": request.path,
                "status": resp.status_code,
                "duration_ms": round(elapsed * 1000, 2),
            },
        )
        return resp

    @app.errorhandler(UploadError)
    def _upload_error(exc: UploadError) -> tuple[Response, int]:
        if metrics is not None:
            metrics.analyses.labels("none", "rejected").inc()
        return _error(exc.status, exc.code, exc.message)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        code = (exc.name or "error").lower().replace(" ", "_")
        return _error(exc.code or 500, code, exc.description or "")

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error")
        return _error(500, "internal_error", "unexpected error; see the logs for this request id")

    @app.get("/health")
    def health() -> Response:
        # Liveness only: must not import or wait for anything heavy.
        return jsonify(
            status="ok",
            phase=settings.phase,
            version=__version__,
            features=sorted(settings.features),
            uptime_seconds=round(time.time() - started, 3),
        )

    @app.get("/ready")
    def ready() -> tuple[Response, int]:
        if runtime is None or runtime.settled.is_set():
            body = {"ready": True, "phase": settings.phase}
            if runtime is not None:
                body.update(mode=runtime.mode, degraded=runtime.degraded)
            return jsonify(body), 200
        return jsonify(ready=False, phase=settings.phase, mode=runtime.mode, waiting_for=["ml"]), 503

    if runtime is not None:

        @app.get("/ml/status")
        def ml_status() -> Response:
            return jsonify(runtime.status())

        @app.post("/api/v1/analyze")
        def analyze() -> Response:
            t0 = time.perf_counter()
            data, declared = _read_upload()
            try:
                from shine.imaging import decode

                rgb, info = decode(data, declared, settings.max_pixels)
            except ImportError as exc:
                raise UploadError(503, "ml_unavailable", f"image libraries missing: {exc}") from exc
            decode_ms = (time.perf_counter() - t0) * 1000
            with analyze_lock:
                # One analysis at a time per worker: OpenCV's cascade is not
                # documented as thread-safe and the CPU is the bottleneck anyway.
                result = runtime.analyze(rgb)
            # JPEGs may be decoded at a reduced scale; report boxes in the
            # coordinates of the uploaded image.
            sx, sy = info["width"] / info["decoded_width"], info["height"] / info["decoded_height"]
            faces = [
                {
                    "x": round(f["x"] * sx),
                    "y": round(f["y"] * sy),
                    "width": round(f["width"] * sx),
                    "height": round(f["height"] * sy),
                }
                for f in result["faces"]
            ]
            total_ms = (time.perf_counter() - t0) * 1000
            timings = {"decode_ms": round(decode_ms, 2), **result["timings_ms"], "total_ms": round(total_ms, 2)}
            runtime.last_analysis = {
                "analyzer": result["analyzer"],
                "latency_ms": timings["total_ms"],
                "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            if metrics is not None:
                metrics.analyses.labels(result["analyzer"], "ok").inc()
            return jsonify(
                request_id=g.request_id,
                analyzer=result["analyzer"],
                mode=runtime.mode,
                degraded=runtime.degraded,
                reasons=list(runtime.reasons),
                image={k: info[k] for k in ("format", "width", "height")},
                faces=faces,
                region=result["region"],
                metrics=result["metrics"],
                notes=result["notes"],
                timings_ms=timings,
            )

        if start_ml:
            runtime.start()

    if metrics is not None:

        @app.get("/metrics")
        def prometheus() -> Response:
            return metrics.render(runtime)

    return app
