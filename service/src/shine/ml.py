"""The ML runtime: loads components in the background and picks an analyzer.

Nothing heavy is imported at module import time, so /health answers while
numpy, OpenCV and boto3 load in a background thread. Each component that fails
adds a reason and the runtime settles in "basic" mode instead of crashing.
"""

from __future__ import annotations

import importlib
import json
import logging
import threading
import time
from typing import Any

from shine.config import Settings

log = logging.getLogger("shine.ml")


class MLRuntime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.settled = threading.Event()
        self.reasons: list[str] = []
        self.manager: Any = None
        self.cv2: Any = None
        self.np: Any = None
        self.detector: Any = None
        self.params: dict[str, Any] | None = None
        self.enhanced_ready = False
        self.load_seconds: float | None = None
        self.last_analysis: dict[str, Any] | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Load in a daemon thread; the server answers meanwhile."""
        if self._thread is None:
            self._thread = threading.Thread(target=self.load, name="shine-ml-loader", daemon=True)
            self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        return self.settled.wait(timeout)

    def load(self) -> None:
        t0 = time.perf_counter()
        try:
            self._load()
        except Exception as exc:  # never let a loader bug take the worker down
            log.exception("ML loading failed")
            self.reasons.append(f"loader_error: {type(exc).__name__}: {exc}")
        finally:
            self.load_seconds = round(time.perf_counter() - t0, 3)
            self.settled.set()
            log.info("ML settled in %.3fs: mode=%s reasons=%s", self.load_seconds, self.mode, self.reasons)

    def _load(self) -> None:
        try:
            self.np = importlib.import_module("numpy")
        except ImportError as exc:
            self.reasons.append(f"numpy_unavailable: {exc}")
            return
        try:
            self.cv2 = importlib.import_module("cv2")
            if not hasattr(self.cv2, "CascadeClassifier"):
                # OpenCV 5 moved cascades out of the main package.
                raise ImportError(f"cv2 {getattr(self.cv2, '__version__', '?')} has no CascadeClassifier")
        except ImportError as exc:
            self.cv2 = None
            self.reasons.append(f"opencv_unavailable: {exc}")

        from shine.models import ModelManager

        self.manager = ModelManager(self.settings)
        self.manager.load_all()
        if self.manager.s3["configured"] and self.manager.s3["reachable"] is False:
            self.reasons.append(f"s3_unreachable: {self.manager.s3['error']}")

        face = self.manager.status["face-detector"]
        if not face.available:
            self.reasons.append(f"model_unavailable: face-detector: {'; '.join(face.errors)}")
        elif self.cv2 is not None:
            detector = self.cv2.CascadeClassifier(str(face.path))
            if detector.empty():
                self.reasons.append("model_unavailable: face-detector: OpenCV could not parse the cascade")
            else:
                self.detector = detector

        if self.settings.has("enhanced"):
            params = self.manager.status["analyzer-params"]
            if not params.available:
                self.reasons.append(f"model_unavailable: analyzer-params: {'; '.join(params.errors)}")
            else:
                try:
                    self.params = json.loads(params.path.read_text())
                except ValueError as exc:
                    self.reasons.append(f"model_unavailable: analyzer-params: invalid JSON: {exc}")
            self.enhanced_ready = self.params is not None and self.cv2 is not None

    @property
    def mode(self) -> str:
        if not self.settled.is_set():
            return "loading"
        return "enhanced" if self.enhanced_ready else "basic"

    @property
    def degraded(self) -> bool:
        return self.settled.is_set() and bool(self.reasons)

    def analyze(self, rgb: Any) -> dict[str, Any]:
        """Analyze an RGB array with the best analyzer available right now."""
        from shine import analysis

        if self.enhanced_ready:
            ops: analysis.Ops = analysis.EnhancedOps(self.cv2)
            params = self.params or analysis.DEFAULT_PARAMS
        else:
            ops, params = analysis.BasicOps(), analysis.DEFAULT_PARAMS
        result = analysis.analyze(rgb, ops, params, detector=self.detector, cv2=self.cv2)
        result["analyzer"] = ops.name
        return result

    def status(self) -> dict[str, Any]:
        s3 = (
            dict(self.manager.s3)
            if self.manager
            else {
                "configured": bool(self.settings.model_bucket),
                "bucket": self.settings.model_bucket or None,
                "endpoint": None,
                "reachable": None,
                "error": None,
            }
        )
        models = [st.as_dict() for st in self.manager.status.values()] if self.manager else []
        settled = self.settled.is_set()
        return {
            "mode": self.mode,
            "degraded": self.degraded,
            "reasons": list(self.reasons),
            "phase": self.settings.phase,
            "load_seconds": self.load_seconds,
            "components": {
                "models": models,
                "s3": s3,
                "opencv": {
                    "available": self.cv2 is not None,
                    "version": getattr(self.cv2, "__version__", None),
                },
                "face_detection": {
                    "available": self.detector is not None,
                    "model": "face-detector" if self.detector is not None else None,
                },
                "enhanced_analyzer": {
                    "enabled": self.settings.has("enhanced"),
                    "available": self.enhanced_ready,
                    "params_version": (self.params or {}).get("version"),
                },
                "basic_analyzer": {"available": settled and self.np is not None},
                "last_analysis": self.last_analysis,
            },
        }
