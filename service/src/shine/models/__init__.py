"""Model artifacts: a pinned manifest, a local cache, S3, checksums.

The manifest bundled with the package is the source of truth for which
artifact versions and sha256 digests this build accepts; S3 and the cache are
only places to fetch bytes from, so a tampered or stale object is rejected.
Failures are recorded as reasons and never raised to the caller: the service
degrades to the basic analyzer instead of crashing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from shine.config import Settings

log = logging.getLogger("shine.models")

MANIFEST_NAME = "manifest.json"


@dataclass(frozen=True)
class Artifact:
    name: str
    version: str
    file: str
    sha256: str

    def key(self, prefix: str) -> str:
        """Object key in the model bucket: versioned so old builds keep working."""
        return f"{prefix}{self.name}/{self.version}/{self.file}"


@dataclass
class ArtifactStatus:
    artifact: Artifact
    available: bool = False
    source: str | None = None
    # Where a cached file first came from (s3, bundled): an init container may have fetched it into a
    # cache it shares with the app, which then reads it from there.
    origin: str | None = None
    path: Path | None = None
    errors: list[str] = field(default_factory=list)
    load_seconds: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.artifact.name,
            "version": self.artifact.version,
            "sha256": self.artifact.sha256,
            "available": self.available,
            "source": self.source,
            "origin": self.origin,
            "load_seconds": self.load_seconds,
            "errors": self.errors,
        }


def _origin_marker(cached: Path) -> Path:
    """Beside a cached artifact: the source it was first fetched from."""
    return cached.with_name(f".{cached.name}.origin")


def bundled_dir() -> Path:
    return Path(str(resources.files("shine") / "artifacts"))


def load_manifest(path: Path | None = None) -> list[Artifact]:
    data = json.loads((path or bundled_dir() / MANIFEST_NAME).read_text())
    return [Artifact(a["name"], a["version"], a["file"], a["sha256"]) for a in data["artifacts"]]


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def s3_client(settings: Settings) -> Any:
    """boto3 client with short timeouts so an unreachable S3 degrades fast.

    boto3 itself honours AWS_ENDPOINT_URL, AWS_REGION and the credential chain.
    """
    import boto3  # heavy: imported only when S3 is actually used
    from botocore.config import Config

    cfg = Config(
        connect_timeout=settings.s3_timeout,
        read_timeout=settings.s3_timeout,
        retries={"max_attempts": 1, "mode": "standard"},
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    return boto3.client("s3", region_name=region, config=cfg)


def _describe_s3_error(exc: Exception) -> str:
    code = getattr(exc, "response", {}).get("Error", {}).get("Code") if hasattr(exc, "response") else None
    if code:
        return f"{code}: {exc}"
    return f"{type(exc).__name__}: {exc}"


class ModelManager:
    """Resolves every manifest artifact to a verified local file."""

    def __init__(self, settings: Settings, manifest: list[Artifact] | None = None) -> None:
        self.settings = settings
        self.manifest = manifest if manifest is not None else load_manifest()
        self.status = {a.name: ArtifactStatus(a) for a in self.manifest}
        self.s3: dict[str, Any] = {
            "configured": bool(settings.model_bucket) and "s3" in settings.model_sources,
            "bucket": settings.model_bucket or None,
            "endpoint": os.environ.get("AWS_ENDPOINT_URL") or None,
            "reachable": None,
            "error": None,
        }
        self._client: Any = None
        self._lock = threading.Lock()

    def path(self, name: str) -> Path | None:
        st = self.status.get(name)
        return st.path if st and st.available else None

    def load_all(self) -> None:
        """Fetch and verify every artifact; record failures, raise nothing."""
        for art in self.manifest:
            t0 = time.perf_counter()
            try:
                self._resolve(self.status[art.name])
            except Exception as exc:  # a bug here must still only degrade
                log.exception("unexpected error loading %s", art.name)
                self.status[art.name].errors.append(f"{type(exc).__name__}: {exc}")
            self.status[art.name].load_seconds = round(time.perf_counter() - t0, 4)

    def _cache_path(self, art: Artifact) -> Path:
        return self.settings.model_cache / art.name / art.version / art.file

    def _resolve(self, st: ArtifactStatus) -> None:
        art = st.artifact
        dest = self._cache_path(art)
        for source in self.settings.model_sources:
            if source == "cache":
                if not dest.exists():
                    continue
                digest = sha256_of(dest)
                if digest == art.sha256:
                    st.available, st.source, st.path = True, "cache", dest
                    st.origin = _origin_marker(dest).read_text().strip() if _origin_marker(dest).exists() else None
                    return
                st.errors.append(f"cache: checksum mismatch for {dest} (expected {art.sha256[:12]}, got {digest[:12]})")
            elif source == "s3":
                if self._fetch_s3(st, dest):
                    return
            elif source == "bundled" and self._install(st, bundled_dir() / art.file, dest, "bundled"):
                return
        if not st.errors:
            st.errors.append(f"not found in sources: {', '.join(self.settings.model_sources) or 'none'}")

    def _fetch_s3(self, st: ArtifactStatus, dest: Path) -> bool:
        art = st.artifact
        if not self.settings.model_bucket:
            st.errors.append("s3: no bucket configured (SHINE_MODEL_BUCKET)")
            return False
        if self.s3["reachable"] is False:
            st.errors.append(f"s3: unreachable ({self.s3['error']})")
            return False
        try:
            with self._lock:
                if self._client is None:
                    self._client = s3_client(self.settings)
                    self._client.head_bucket(Bucket=self.settings.model_bucket)
                    self.s3["reachable"] = True
        except ImportError as exc:
            self.s3.update(reachable=False, error=f"boto3 unavailable: {exc}")
            st.errors.append(f"s3: {self.s3['error']}")
            return False
        except Exception as exc:
            self._client = None
            self.s3.update(reachable=False, error=_describe_s3_error(exc))
            st.errors.append(f"s3: unreachable ({self.s3['error']})")
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{art.file}.", suffix=".part")
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as fh:
                self._client.download_fileobj(self.settings.model_bucket, art.key(self.settings.model_prefix), fh)
            return self._commit(st, tmp, dest, "s3")
        except Exception as exc:
            st.errors.append(
                f"s3: s3://{self.settings.model_bucket}/{art.key(self.settings.model_prefix)}: "
                f"{_describe_s3_error(exc)}"
            )
            return False
        finally:
            tmp.unlink(missing_ok=True)

    def _install(self, st: ArtifactStatus, src: Path, dest: Path, source: str) -> bool:
        if not src.exists():
            st.errors.append(f"{source}: {src} missing")
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
        os.close(fd)
        tmp = Path(tmp_name)
        try:
            shutil.copyfile(src, tmp)
            return self._commit(st, tmp, dest, source)
        finally:
            tmp.unlink(missing_ok=True)

    def _commit(self, st: ArtifactStatus, tmp: Path, dest: Path, source: str) -> bool:
        """Verify then rename: readers never see a partial or unverified file."""
        digest = sha256_of(tmp)
        if digest != st.artifact.sha256:
            st.errors.append(
                f"{source}: checksum mismatch for {st.artifact.name} {st.artifact.version} "
                f"(expected {st.artifact.sha256[:12]}, got {digest[:12]})"
            )
            return False
        os.replace(tmp, dest)
        _origin_marker(dest).write_text(source)
        st.available, st.source, st.origin, st.path = True, source, source, dest
        return True


def publish(bucket: str, prefix: str = "shine/models/", client: Any = None, create_bucket: bool = False) -> list[str]:
    """Upload the bundled artifacts and their manifest; returns the keys written."""
    settings = Settings(model_bucket=bucket, model_prefix=prefix)
    client = client or s3_client(settings)
    if create_bucket:
        try:
            client.head_bucket(Bucket=bucket)
        except Exception:
            client.create_bucket(Bucket=bucket)
    src = bundled_dir()
    keys = []
    for art in load_manifest():
        path = src / art.file
        digest = sha256_of(path)
        if digest != art.sha256:
            raise ValueError(f"bundled {art.file} does not match the manifest ({digest} != {art.sha256})")
        key = art.key(prefix)
        client.upload_file(str(path), bucket, key, ExtraArgs={"Metadata": {"sha256": art.sha256}})
        keys.append(key)
    client.upload_file(str(src / MANIFEST_NAME), bucket, f"{prefix}{MANIFEST_NAME}")
    keys.append(f"{prefix}{MANIFEST_NAME}")
    return keys
