"""Settings read from the environment only (no config files), with defaults.

Every variable is documented in docs/service.md; keep the two in step.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

PHASES = ("simple", "hybrid", "enhanced", "full")

# Phases differ by feature flags, never by code copies. Each phase is a superset
# of the previous one so a deploy can move forward one step at a time.
PHASE_FEATURES: dict[str, frozenset[str]] = {
    "simple": frozenset(),
    "hybrid": frozenset({"ml"}),
    "enhanced": frozenset({"ml", "enhanced"}),
    "full": frozenset({"ml", "enhanced", "metrics", "hardening"}),
}
KNOWN_FEATURES = frozenset({"ml", "enhanced", "metrics", "hardening"})
MODEL_SOURCES = ("cache", "s3", "bundled")


class ConfigError(ValueError):
    """An environment variable holds a value the service cannot use."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _list(raw: str) -> list[str]:
    return [item.strip() for item in raw.split(",") if item.strip()]


def _features(phase: str, override: str) -> frozenset[str]:
    """Apply SHINE_FEATURES ("+metrics,-hardening") on top of the phase's set."""
    features = set(PHASE_FEATURES[phase])
    for item in _list(override):
        sign, name = (item[0], item[1:]) if item[0] in "+-" else ("+", item)
        if name not in KNOWN_FEATURES:
            raise ConfigError(f"SHINE_FEATURES: unknown feature {name!r}")
        if sign == "+":
            features.add(name)
        else:
            features.discard(name)
    # The enhanced analyzer and metrics about analyses only make sense with ML.
    if "ml" not in features:
        features.discard("enhanced")
    return frozenset(features)


@dataclass(frozen=True)
class Settings:
    port: int = 5000
    phase: str = "simple"
    features: frozenset[str] = field(default_factory=frozenset)
    model_bucket: str = ""
    model_prefix: str = "shine/models/"
    model_cache: Path = Path("/tmp/shine-models")
    model_sources: tuple[str, ...] = ("cache", "s3")
    s3_timeout: int = 3
    cors_origins: tuple[str, ...] = ("*",)
    max_upload_bytes: int = 10 * 1024 * 1024
    max_pixels: int = 25_000_000
    log_format: str = "text"
    log_level: str = "INFO"
    workers: int = 1
    threads: int = 4
    timeout: int = 30
    drill_wrong_port: int = 0
    drill_fail_requests: bool = False

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        phase = env.get("SHINE_PHASE", "simple").strip().lower() or "simple"
        if phase not in PHASES:
            raise ConfigError(f"SHINE_PHASE must be one of {', '.join(PHASES)}, got {phase!r}")
        features = _features(phase, env.get("SHINE_FEATURES", ""))
        hardened = "hardening" in features

        sources = tuple(_list(env.get("SHINE_MODEL_SOURCES", "cache,s3")))
        unknown = [s for s in sources if s not in MODEL_SOURCES]
        if unknown:
            raise ConfigError(f"SHINE_MODEL_SOURCES: unknown source(s) {unknown}")

        # Hardened deployments allow no cross-origin callers unless listed.
        cors_raw = env.get("SHINE_CORS_ORIGINS")
        cors = (() if hardened else ("*",)) if cors_raw is None else tuple(_list(cors_raw))

        log_format = env.get("SHINE_LOG_FORMAT", "json" if hardened else "text").strip().lower()
        if log_format not in ("text", "json"):
            raise ConfigError(f"SHINE_LOG_FORMAT must be text or json, got {log_format!r}")

        prefix = env.get("SHINE_MODEL_PREFIX", "shine/models/").strip()
        if prefix and not prefix.endswith("/"):
            prefix += "/"

        return cls(
            port=_int(env, "PORT", 5000, minimum=1),
            phase=phase,
            features=features,
            model_bucket=env.get("SHINE_MODEL_BUCKET", "").strip(),
            model_prefix=prefix,
            model_cache=Path(env.get("SHINE_MODEL_CACHE", "/tmp/shine-models")),
            model_sources=sources,
            s3_timeout=_int(env, "SHINE_S3_TIMEOUT", 3, minimum=1),
            cors_origins=cors,
            max_upload_bytes=_int(env, "SHINE_MAX_UPLOAD_BYTES", 10 * 1024 * 1024, minimum=1),
            max_pixels=_int(env, "SHINE_MAX_PIXELS", 25_000_000, minimum=1),
            log_format=log_format,
            log_level=env.get("SHINE_LOG_LEVEL", "INFO").strip().upper() or "INFO",
            workers=_int(env, "SHINE_WORKERS", 1, minimum=1),
            threads=_int(env, "SHINE_THREADS", 4, minimum=1),
            timeout=_int(env, "SHINE_TIMEOUT", 30, minimum=1),
            drill_wrong_port=_int(env, "SHINE_DRILL_WRONG_PORT", 0),
            drill_fail_requests=env.get("SHINE_DRILL_FAIL_REQUESTS", "").strip() == "1",
        )

    def has(self, feature: str) -> bool:
        return feature in self.features
