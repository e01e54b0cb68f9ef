"""The sandbox's AWS API: moto's server, as a real endpoint answers, to callers holding the sandbox's key only.

moto serves whoever connects, and with its global CORS on it serves every web page the operator's
browser opens too. Here each request must be signed (SigV4) with the sandbox's own access key id,
generated per sandbox and handed to snailtrail, the seed commands and the tasks, as an account
hands out credentials; anything else is refused as AWS refuses an unknown key
(UnrecognizedClientException, InvalidClientTokenId). CORS is off: no cross-origin page may read
an answer.
"""

from __future__ import annotations

import hmac
import json
import re
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server import werkzeug_app
from werkzeug.serving import make_server

from snailtrail.aws.session import AccessKey

_CREDENTIAL = re.compile(r"^AWS4-HMAC-SHA256 .*Credential=([^/,\s]+)/")
# AWS's form (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids).
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
REFUSAL = "The security token included in the request is invalid."


def generate_key() -> AccessKey:
    """A new sandbox's key, in AWS's form."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    return AccessKey(key_id, secrets.token_urlsafe(30))


def signed_key_id(environ: dict[str, Any]) -> str | None:
    """The access key id a request's SigV4 Authorization header names, or None."""
    match = _CREDENTIAL.match(environ.get("HTTP_AUTHORIZATION", ""))
    return match.group(1) if match else None


class RequireKey:
    """WSGI middleware: a request signed with another key, or not signed, gets AWS's refusal and never reaches moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], access_key_id: str) -> None:
        self._app = app
        self._access_key_id = access_key_id

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        key_id = signed_key_id(environ)
        if key_id is not None and hmac.compare_digest(key_id, self._access_key_id):
            return self._app(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocol (ECS, DynamoDB, Logs ...)
            content_type = "application/x-amz-json-1.1"
            body = json.dumps({"__type": "UnrecognizedClientException", "message": REFUSAL}).encode()
        else:  # the query and REST-XML protocols (ELBv2, EC2, S3 ...)
            content_type = "text/xml"
            body = (
                "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code>"
                f"<Message>{REFUSAL}</Message></Error></ErrorResponse>"
            ).encode()
        start_response("403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


class SandboxAwsApi:
    """moto's backends over HTTP on 127.0.0.1, behind RequireKey, without CORS."""

    def __init__(self, key: AccessKey, port: int = 0) -> None:
        # moto reads MOTO_DISABLE_GLOBAL_CORS once, when it is imported; each backend app is made on its
        # first request and reads this then.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        app = RequireKey(werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app), key.access_key_id)
        self._server = make_server(
            "127.0.0.1", port, app, threaded=True, request_handler=werkzeug_app.MotoRequestHandler
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        threading.Thread(target=self._server.serve_forever, name="aws-api", daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
