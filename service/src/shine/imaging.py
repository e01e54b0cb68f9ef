"""Safe decoding of uploaded JPEG/PNG images.

Checks run cheapest first: size (Flask), magic bytes, declared type, header
dimensions (before any pixel is decoded, which stops decompression bombs),
then the decode itself (truncated files fail here).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from typing import Any

SIGNATURES = {b"\xff\xd8\xff": "jpeg", b"\x89PNG\r\n\x1a\n": "png"}
MIME = {"jpeg": "image/jpeg", "png": "image/png"}
# Declared types that say nothing about the format; the bytes decide.
NEUTRAL_TYPES = {"", "application/octet-stream"}
# Analysis runs at <= 640 px for detection; decoding a JPEG at a reduced DCT
# scale that still keeps at least this long side saves most of the decode time.
DRAFT_LONG_SIDE = 1280


@dataclass
class UploadError(Exception):
    status: int
    code: str
    message: str


def sniff(data: bytes) -> str | None:
    for sig, fmt in SIGNATURES.items():
        if data.startswith(sig):
            return fmt
    return None


def decode(data: bytes, declared_type: str, max_pixels: int) -> tuple[Any, dict[str, Any]]:
    """Return (RGB uint8 array, image info) or raise UploadError."""
    if not data:
        raise UploadError(400, "empty_upload", "the upload is empty")
    fmt = sniff(data)
    if fmt is None:
        raise UploadError(415, "unsupported_image", "only JPEG and PNG images are accepted")
    declared = (declared_type or "").split(";")[0].strip().lower()
    if declared not in NEUTRAL_TYPES and declared != MIME[fmt]:
        raise UploadError(415, "content_type_mismatch", f"declared {declared} but the data is {MIME[fmt]}")

    import numpy as np
    from PIL import Image

    # Our explicit check below runs right after the header is parsed and before
    # any pixel is decoded; Pillow's global guard would only warn (a process-
    # wide side effect) below twice its limit, so it is switched off.
    Image.MAX_IMAGE_PIXELS = None
    try:
        img = Image.open(io.BytesIO(data), formats=[fmt.upper()])
        width, height = img.size
        if width < 1 or height < 1 or width * height > max_pixels:
            raise UploadError(413, "image_too_large", f"{width}x{height} exceeds the limit of {max_pixels} pixels")
        if fmt == "jpeg" and max(width, height) > DRAFT_LONG_SIDE:
            factor = max(width, height) / DRAFT_LONG_SIDE
            img.draft("RGB", (int(width / factor), int(height / factor)))
        img.load()
        rgb = np.asarray(img.convert("RGB"))
    except UploadError:
        raise
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... for bad data
        raise UploadError(400, "corrupt_image", f"cannot decode {fmt}: {exc}") from exc
    info = {
        "format": fmt,
        "width": width,
        "height": height,
        "decoded_width": rgb.shape[1],
        "decoded_height": rgb.shape[0],
    }
    return rgb, info
