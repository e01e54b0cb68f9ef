"""Bad uploads get a 4xx JSON error: never a 500, never a hang."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from shine_testutil import encode


def _png_header_only(width: int, height: int) -> bytes:
    """A PNG whose IHDR claims huge dimensions: a decompression-bomb probe."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


@pytest.fixture
def client(make_client):
    return make_client(SHINE_PHASE="full", SHINE_MAX_UPLOAD_BYTES="2000000")


def _assert_json_error(r, status, code=None):
    assert r.status_code == status, (r.status_code, r.get_data(as_text=True)[:200])
    assert r.is_json and r.json["status"] == status and r.json["error"]
    if code:
        assert r.json["error"] == code


def test_not_an_image(client):
    _assert_json_error(
        client.post("/api/v1/analyze", data=b"hello world", content_type="image/jpeg"), 415, "unsupported_image"
    )


def test_gif_is_refused(client):
    _assert_json_error(
        client.post("/api/v1/analyze", data=b"GIF89a" + b"\0" * 100, content_type="application/octet-stream"), 415
    )


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_truncated(client, astronaut, fmt):
    data = encode(astronaut, fmt)
    _assert_json_error(
        client.post("/api/v1/analyze", data=data[: len(data) // 3], content_type=f"image/{fmt.lower()}"),
        400,
        "corrupt_image",
    )


@pytest.mark.parametrize("size", [(100_000, 100_000), (6000, 5000)])
def test_huge_dimensions_header(client, size):
    _assert_json_error(
        client.post("/api/v1/analyze", data=_png_header_only(*size), content_type="image/png"), 413, "image_too_large"
    )


def test_decompression_bomb_real_png(make_client):
    client = make_client(SHINE_PHASE="full", SHINE_MAX_PIXELS="1000000")
    bomb = encode(np.zeros((1500, 1500, 3), dtype=np.uint8), "PNG")  # 2.25 MP in a few KB
    assert len(bomb) < 50_000
    _assert_json_error(client.post("/api/v1/analyze", data=bomb, content_type="image/png"), 413, "image_too_large")


@pytest.mark.parametrize("content_type", ["text/plain", "application/json", "application/x-www-form-urlencoded"])
def test_wrong_content_type(client, astronaut_jpeg, content_type):
    _assert_json_error(client.post("/api/v1/analyze", data=astronaut_jpeg, content_type=content_type), 415)


def test_declared_type_must_match_data(client, astronaut_jpeg):
    _assert_json_error(
        client.post("/api/v1/analyze", data=astronaut_jpeg, content_type="image/png"), 415, "content_type_mismatch"
    )
    multipart = {"image": (io.BytesIO(astronaut_jpeg), "x.png", "image/png")}
    _assert_json_error(client.post("/api/v1/analyze", data=multipart, content_type="multipart/form-data"), 415)


@pytest.mark.parametrize("content_type", ["image/jpeg", None])
def test_empty_body(client, content_type):
    _assert_json_error(client.post("/api/v1/analyze", data=b"", content_type=content_type), 400, "empty_upload")


def test_multipart_without_file(client):
    _assert_json_error(
        client.post("/api/v1/analyze", data={"note": "x"}, content_type="multipart/form-data"), 400, "missing_file"
    )


def test_multipart_empty_file(client):
    data = {"image": (io.BytesIO(b""), "x.jpg", "image/jpeg")}
    _assert_json_error(client.post("/api/v1/analyze", data=data, content_type="multipart/form-data"), 400)


def test_too_large_body(client):
    big = b"\xff\xd8\xff" + b"\0" * 2_100_000
    _assert_json_error(client.post("/api/v1/analyze", data=big, content_type="image/jpeg"), 413)
    multipart = {"image": (io.BytesIO(big), "x.jpg", "image/jpeg")}
    _assert_json_error(client.post("/api/v1/analyze", data=multipart, content_type="multipart/form-data"), 413)


def test_wrong_method_is_json(client):
    _assert_json_error(client.get("/api/v1/analyze"), 405)


def test_tiny_image_still_answers(client):
    r = client.post(
        "/api/v1/analyze", data=encode(np.full((2, 2, 3), 180, dtype=np.uint8), "PNG"), content_type="image/png"
    )
    assert r.status_code == 200 and r.json["faces"] == []
