"""Helpers shared by the shine tests (a plain module: the tests dir is on sys.path)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
from PIL import Image

from shine.config import Settings


def settings_for(tmp_path: Path, **env: str) -> Settings:
    """Settings as the service would read them, isolated to ``tmp_path``."""
    base = {
        "SHINE_PHASE": "full",
        "SHINE_MODEL_SOURCES": "cache,bundled",
        "SHINE_MODEL_CACHE": str(tmp_path / "model-cache"),
    }
    base.update(env)
    return Settings.from_env(base)


def encode(rgb: np.ndarray, fmt: str = "JPEG", **kw: object) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, fmt, **kw)
    return buf.getvalue()
