"""The sandbox's AWS API: moto's server, as a real endpoint answers, to callers holding the sandbox's key only.

moto serves whoever connects, and with its global CORS on it serves every web page the operator's
browser opens too. Here each request must be signed (SigV4, sigv4.py) with the sandbox's own key,
generated per sandbox and handed to snailtrail, the seed commands and the tasks, as an account
hands out credentials; anything else is refused as AWS refuses it (an unknown key:
UnrecognizedClientException or InvalidClientTokenId; a wrong signature: SignatureDoesNotMatch).
CORS is off: no cross-origin page may read an answer.
"""

from __future__ import annotations

import hmac
import json
import secrets
import string
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server import werkzeug_app
from werkzeug.serving import make_server

from snailtrail.aws.session import AccessKey
from snailtrail.sandbox import sigv4

# AWS's form (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-unique-ids).
_KEY_ID_ALPHABET = string.ascii_uppercase + "234567"
UNKNOWN_KEY = "The security token included in the request is invalid."
WRONG_SIGNATURE = (
    "The request signature we calculated does not match the signature you provided. "
    "Check your AWS Secret Access Key and signing method."
)


def generate_key() -> AccessKey:
    """A new sandbox's key, in AWS's form."""
    key_id = "AKIA" + "".join(secrets.choice(_KEY_ID_ALPHABET) for _ in range(16))
    return AccessKey(key_id, secrets.token_urlsafe(30))


class RequireKey:
    """WSGI middleware: a request not signed with the sandbox's key gets AWS's refusal and never reaches moto."""

    def __init__(self, app: Callable[..., Iterable[bytes]], key: AccessKey) -> None:
        self._app = app
        self._key = key

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        signed = sigv4.authorization(environ)
        if signed is None or not hmac.compare_digest(signed.key_id, self._key.access_key_id):
            code, json_code, message = "InvalidClientTokenId", "UnrecognizedClientException", UNKNOWN_KEY
        elif not sigv4.signature_matches(environ, signed, self._key.secret_access_key):
            code = json_code = "SignatureDoesNotMatch"
            message = WRONG_SIGNATURE
        else:
            return self._app(environ, start_response)
        if environ.get("HTTP_X_AMZ_TARGET"):  # the JSON protocol (ECS, DynamoDB, Logs ...)
            content_type = "application/x-amz-json-1.1"
            body = json.dumps({"__type": json_code, "message": message}).encode()
        else:  # the query and REST-XML protocols (ELBv2, EC2, S3 ...)
            content_type = "text/xml"
            body = (
                f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code>"
                f"<Message>{message}</Message></Error></ErrorResponse>"
            ).encode()
        start_response("403 Forbidden", [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]


class SandboxAwsApi:
    """moto's backends over HTTP on 127.0.0.1, behind RequireKey, without CORS."""

    def __init__(self, key: AccessKey, port: int = 0) -> None:
        # moto reads MOTO_DISABLE_GLOBAL_CORS once, when it is imported; each backend app is made on its
        # first request and reads this then.
        werkzeug_app.DISABLE_GLOBAL_CORS = True
        app = RequireKey(werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app), key)
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
