"""The ALB listener on loopback: forwards to healthy targets of the listener's target groups.

It reads the listener's forward action (with weights) and the targets' health from the control
plane on every request, so a listener update or a target going unhealthy takes effect at once.
"""

from __future__ import annotations

import http.client
import random
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox.runtime import send_json

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailers",
    "transfer-encoding",
    "upgrade",
}


class FrontDoor:
    def __init__(
        self,
        region: str,
        load_balancer: str,
        listener_port: int,
        addresses: dict[str, tuple[str, int]],
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.region = region
        self.load_balancer = load_balancer
        self.listener_port = listener_port
        self.addresses = addresses
        self.served: dict[str, int] = {}  # target group arn -> requests forwarded, for weight checks
        handler = _handler(self._pick)
        self._server = ThreadingHTTPServer((host, port), handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="front-door", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _pick(self) -> tuple[str, int] | None:
        """A healthy target's address, choosing the target group by the listener's weights."""
        # Read without the reconciler's lock: a request must not wait while it starts containers.
        forwards = bridge.listener_forwards(self.region, self.load_balancer, self.listener_port)
        candidates = []
        for arn, weight in forwards:
            addresses = dict(self.addresses)
            healthy = [addresses[t] for t in bridge.healthy_targets(self.region, arn) if t in addresses]
            if weight > 0 and healthy:
                candidates.append((arn, weight, healthy))
        if not candidates:
            return None
        # Load spreading, not security: the standard generator is what an ALB-like choice needs.
        arn, _, healthy = random.choices(candidates, weights=[c[1] for c in candidates])[0]  # noqa: S311
        self.served[arn] = self.served.get(arn, 0) + 1
        return random.choice(healthy)  # noqa: S311


def _handler(pick: Callable[[], tuple[str, int] | None]) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _proxy(self) -> None:
            target = pick()
            if target is None:
                send_json(self, 503, {"error": "no healthy targets behind the listener"})
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            connection = http.client.HTTPConnection(*target, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except OSError as exc:
                send_json(self, 502, {"error": f"target {target[0]}:{target[1]} failed: {exc}"})
                return
            finally:
                connection.close()
            self.send_response(answer.status)
            for key, value in answer.getheaders():
                if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                    self.send_header(key, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _proxy  # noqa: N815 - http.server's naming

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    return Proxy
