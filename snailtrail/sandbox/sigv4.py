"""Verify a request's AWS Signature Version 4, as an AWS endpoint does, from a WSGI environ.

The server side of what botocore's signer does (botocore/auth.py, SigV4Auth and S3SigV4Auth), after
AWS's "Create a signed AWS API request"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html):
the canonical request from the method, the path as sent (normalised and encoded again except for
S3), the query, the signed headers and the payload's hash; then the string to sign and the HMAC
chain of the secret, the date, the region, the service and "aws4_request".
"""

from __future__ import annotations

import hashlib
import hmac
import io
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from botocore.utils import normalize_url_path

_AUTHORIZATION = re.compile(
    r"^AWS4-HMAC-SHA256 Credential=(?P<key>[^/,\s]+)/(?P<scope>[^,\s]+),\s*"
    r"SignedHeaders=(?P<headers>[^,\s]+),\s*Signature=(?P<signature>[0-9a-f]{64})$"
)


@dataclass(frozen=True)
class Authorization:
    """What a request's SigV4 Authorization header says."""

    key_id: str
    scope: str  # date/region/service/aws4_request
    signed_headers: list[str]
    signature: str

    @property
    def service(self) -> str:
        parts = self.scope.split("/")
        return parts[2] if len(parts) == 4 else ""


def authorization(environ: dict[str, Any]) -> Authorization | None:
    """The request's SigV4 Authorization header, parsed; None when it has none or another scheme."""
    match = _AUTHORIZATION.match(environ.get("HTTP_AUTHORIZATION", "").strip())
    if match is None:
        return None
    return Authorization(match["key"], match["scope"], match["headers"].split(";"), match["signature"])


def _header(environ: dict[str, Any], name: str) -> str:
    if name in ("content-type", "content-length"):
        value = environ.get(name.upper().replace("-", "_"), "")
    else:
        value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
    return " ".join(str(value).split())


def _payload_hash(environ: dict[str, Any]) -> str:
    """The body's SHA-256 as signed: the x-amz-content-sha256 header when sent (S3 always sends it, with
    UNSIGNED-PAYLOAD or a streaming marker where the body is not hashed), else the body's own, read and
    put back for the application."""
    declared = environ.get("HTTP_X_AMZ_CONTENT_SHA256")
    if declared:
        return str(declared)
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length) if length > 0 else b""
    environ["wsgi.input"] = io.BytesIO(body)
    return hashlib.sha256(body).hexdigest()


def _canonical_path(raw_path: str, service: str) -> str:
    """The path as sent; except for S3, without dot segments and encoded once more, as botocore signs it."""
    if service == "s3":
        return raw_path or "/"
    return quote(normalize_url_path(raw_path), safe="/~")


def _canonical_query(query: str) -> str:
    pairs = [pair.partition("=") for pair in query.split("&")] if query else []
    return "&".join(f"{key}={value}" for key, _, value in sorted(pairs))


def canonical_request(environ: dict[str, Any], signed: Authorization) -> str:
    raw = str(environ.get("RAW_URI") or environ.get("REQUEST_URI") or environ.get("PATH_INFO", "/"))
    raw_path, _, raw_query = raw.partition("?")
    headers = "".join(f"{name}:{_header(environ, name)}\n" for name in signed.signed_headers)
    return "\n".join(
        [
            environ["REQUEST_METHOD"].upper(),
            _canonical_path(raw_path, signed.service),
            _canonical_query(raw_query or environ.get("QUERY_STRING", "")),
            headers,
            ";".join(signed.signed_headers),
            _payload_hash(environ),
        ]
    )


def signature_matches(environ: dict[str, Any], signed: Authorization, secret: str) -> bool:
    """Whether the request was signed with ``secret`` (the key's secret access key)."""
    amz_date = _header(environ, "x-amz-date")
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256",
            amz_date,
            signed.scope,
            hashlib.sha256(canonical_request(environ, signed).encode()).hexdigest(),
        ]
    )
    key = ("AWS4" + secret).encode()
    for part in signed.scope.split("/"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, signed.signature)
