"""Benchmark the shine service for real: start-up, /health, /api/v1/analyze, images.

    service/.venv/bin/python bench/service/run.py [--requests 200] [--out results.json]

Starts `python -m shine` (phase full, one gunicorn worker, models from the
bundled artifacts) on a free loopback port, measures with sequential
keep-alive requests from this process, and also reports face-detection
accuracy and, when a Docker engine answers, the phase image sizes. Only
127.0.0.1 is contacted; every loop is bounded.
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(pct(ms, 50), 2),
        "p99_ms": round(pct(ms, 99), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
    }


def poll(port: int, path: str, deadline: float = 30.0) -> float:
    """Seconds until ``path`` answers 200 (polling every 5 ms)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", path)
            if conn.getresponse().status == 200:
                return time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.005)
    raise RuntimeError(f"{path} not ready after {deadline}s")


def start(port: int, cache: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "PORT": str(port),
        "SHINE_PHASE": "full",
        "SHINE_WORKERS": "1",
        "SHINE_MODEL_SOURCES": "cache,bundled",
        "SHINE_MODEL_CACHE": cache,
        "SHINE_LOG_LEVEL": "WARNING",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "shine"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def startup(runs: int) -> dict[str, Any]:
    health, ready = [], []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            port = free_port()
            t0 = time.perf_counter()
            proc = start(port, cache)
            try:
                poll(port, "/health")
                health.append(time.perf_counter() - t0)
                poll(port, "/ready")
                ready.append(time.perf_counter() - t0)
            finally:
                proc.terminate()
                proc.wait(10)
    return {
        "runs": runs,
        "to_health_s": round(statistics.median(health), 3),
        "to_health_max_s": round(max(health), 3),
        "to_ready_s": round(statistics.median(ready), 3),
        "to_ready_max_s": round(max(ready), 3),
    }


def timed(
    conn: http.client.HTTPConnection,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> float:
    t0 = time.perf_counter()
    conn.request(method, path, body=body, headers=headers or {})
    resp = conn.getresponse()
    data = resp.read()
    elapsed = (time.perf_counter() - t0) * 1000
    if resp.status != 200:
        raise RuntimeError(f"{path}: {resp.status} {data[:200]!r}")
    return elapsed


def test_images() -> dict[str, bytes]:
    import cv2
    from PIL import Image
    from skimage import data

    out = {}
    for w, h in ((640, 480), (1920, 1080)):
        # The astronaut portrait letterboxed into the frame: one real face.
        frame = cv2.resize(data.astronaut(), (h, h), interpolation=cv2.INTER_CUBIC)
        canvas = cv2.copyMakeBorder(frame, 0, 0, (w - h) // 2, w - h - (w - h) // 2, cv2.BORDER_REFLECT)
        buf = io.BytesIO()
        Image.fromarray(canvas).save(buf, "JPEG", quality=90)
        out[f"{w}x{h}"] = buf.getvalue()
    return out


def latency(requests: int) -> dict[str, Any]:
    images = test_images()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cache:
        port = free_port()
        proc = start(port, cache)
        try:
            poll(port, "/ready")
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            for _ in range(20):  # warm-up: first OpenCV calls allocate
                timed(conn, "GET", "/health")
            results["health"] = summary([timed(conn, "GET", "/health") for _ in range(requests)])
            for name, body in images.items():
                hdrs = {"Content-Type": "image/jpeg"}
                for _ in range(5):
                    timed(conn, "POST", "/api/v1/analyze", body, hdrs)
                ms = [timed(conn, "POST", "/api/v1/analyze", body, hdrs) for _ in range(requests)]
                conn.request("POST", "/api/v1/analyze", body=body, headers=hdrs)
                sample = json.loads(conn.getresponse().read())
                results[f"analyze_{name}"] = {
                    **summary(ms),
                    "jpeg_bytes": len(body),
                    "faces": len(sample["faces"]),
                    "analyzer": sample["analyzer"],
                    "server_timings_ms": sample["timings_ms"],
                }
        finally:
            proc.terminate()
            proc.wait(10)
    return results


def accuracy() -> dict[str, Any]:
    import cv2
    import numpy as np
    from shine import analysis
    from shine.models import bundled_dir
    from skimage import data

    detector = cv2.CascadeClassifier(str(bundled_dir() / "lbpcascade_frontalface.xml"))
    crops = (data.lfw_subset() * 255).astype(np.uint8)
    labels = [1] * 100 + [0] * 100
    tp = fp = 0
    for crop, label in zip(crops, labels, strict=True):
        # Same protocol as tests/test_shine_accuracy.py: 96 px, 25% replicated border.
        big = cv2.resize(crop, (96, 96), interpolation=cv2.INTER_CUBIC)
        big = cv2.copyMakeBorder(big, 24, 24, 24, 24, cv2.BORDER_REPLICATE)
        found = bool(
            analysis.detect_faces(detector, cv2, cv2.cvtColor(big, cv2.COLOR_GRAY2RGB), analysis.DEFAULT_PARAMS)
        )
        tp += found and label == 1
        fp += found and label == 0
    faces = analysis.detect_faces(detector, cv2, data.astronaut(), analysis.DEFAULT_PARAMS)
    return {
        "lfw_subset": {
            "tp": tp,
            "fp": fp,
            "fn": 100 - tp,
            "tn": 100 - fp,
            "precision": round(tp / max(1, tp + fp), 3),
            "recall": round(tp / 100, 3),
        },
        "astronaut_faces": [f.as_dict() for f in faces],
    }


def image_sizes() -> dict[str, Any]:
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine to measure
        return {"skipped": f"no Docker engine: {exc}"}
    sizes = {}
    for phase in ("simple", "hybrid", "enhanced", "full"):
        try:
            sizes[phase] = round(client.images.get(f"shine-test:{phase}").attrs["Size"] / 1e6, 1)
        except Exception:  # noqa: BLE001 - an image not built yet has no size to report
            sizes[phase] = None
    if sizes.get("simple") and sizes.get("full"):
        sizes["simple_over_full"] = round(sizes["simple"] / sizes["full"], 3)
    return {"MB": sizes, "note": "images built by the docker tests (tag shine-test:PHASE)"}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--startup-runs", type=int, default=5)
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("results.json"))
    args = parser.parse_args()
    report = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "date": time.strftime("%Y-%m-%d"),
        "startup": startup(args.startup_runs),
        "latency": latency(args.requests),
        "accuracy": accuracy(),
        "images": image_sizes(),
    }
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
