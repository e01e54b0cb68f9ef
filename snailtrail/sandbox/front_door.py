"""The ALB listener on loopback: forwards to healthy targets of the listener's target groups.

It reads the forward action (with weights) of the listener's rule that matches the request's path, else
of its default action (a fixed response is answered as such), and the targets' health from the control
plane on every request, so a listener update or a target going unhealthy takes effect at once.
Whether a request reaches the chosen target is the reconciler's network view (security groups, the
port the task serves), refreshed once a reconciler pass: a dropped request answers 504 as an ALB's
timed-out one does, a refused connection 502.
Like an ALB it publishes per-target-group metrics to CloudWatch (namespace AWS/ApplicationELB,
LoadBalancer and TargetGroup dimensions), so canary gates read the sandbox's traffic through the
same GetMetricData queries as AWS's; unlike an ALB it publishes every second, not every minute
(metrics_period_s says which), and its metrics are best effort: a failed publish drops them.
"""

from __future__ import annotations

import http.client
import random
import ssl
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from snailtrail.aws.cloudwatch import NAMESPACE, dimension
from snailtrail.sandbox import moto_bridge as bridge
from snailtrail.sandbox import moto_network
from snailtrail.sandbox.network import Route
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


TARGET_GROUP_HEADER = "X-Sandbox-Target-Group"  # which colour answered: how the canary benchmark counts
REDIRECT_STATUS = {"HTTP_301": 301, "HTTP_302": 302}


@dataclass(frozen=True)
class Redirect:
    """A listener's redirect action (its RedirectConfig). ``loopback_ports`` maps each listener's port to the
    loopback port of the front door that plays it, so the redirect lands on the sandbox's own listener."""

    config: dict[str, Any]
    loopback_ports: dict[int, int]
    listener_port: int  # the port of the listener that answers, #{port}

    def location(self, scheme: str, host_header: str, target: str) -> str:
        """Where to: the RedirectConfig's parts, each defaulting to the request's own (#{protocol}, #{host},
        #{port}, /#{path}, #{query}), as an ALB's redirect actions do.
        https://docs.aws.amazon.com/elasticloadbalancing/latest/application/rule-action-types.html#redirect-actions
        """
        request = urlsplit(f"//{host_header}{target}")
        values = {
            "protocol": scheme.upper(),
            "host": request.hostname or "127.0.0.1",
            "port": str(self.listener_port),
            "path": request.path.lstrip("/"),
            "query": request.query,
        }

        def part(name: str, default: str) -> str:
            text = str(self.config.get(name) or default)
            for key, value in values.items():
                text = text.replace(f"#{{{key}}}", value)
            return text

        listener_port = int(part("Port", "#{port}"))
        loopback = self.loopback_ports.get(listener_port, listener_port)
        query = part("Query", "#{query}")
        return (
            f"{part('Protocol', '#{protocol}').lower()}://{part('Host', '#{host}')}:{loopback}"
            f"{part('Path', '/#{path}')}{'?' + query if query else ''}"
        )

    @property
    def status(self) -> int:
        return REDIRECT_STATUS[str(self.config.get("StatusCode", "HTTP_301"))]


@dataclass
class _Second:
    """One target group's traffic in one second, as the ALB's metrics count it."""

    requests: int = 0
    target_5xx: int = 0
    connection_errors: int = 0
    latency_sum_s: float = 0.0
    latency_min_s: float = float("inf")
    latency_max_s: float = 0.0

    def add(self, status: int | None, latency_s: float) -> None:
        self.requests += 1
        if status is None:
            self.connection_errors += 1
            return
        self.target_5xx += status >= 500
        self.latency_sum_s += latency_s
        self.latency_min_s = min(self.latency_min_s, latency_s)
        self.latency_max_s = max(self.latency_max_s, latency_s)


class FrontDoor:
    def __init__(
        self,
        region: str,
        load_balancer: str,
        listener_port: int | None,
        route: Callable[[str, str, int], Route],
        host: str = "127.0.0.1",
        port: int = 0,
        cloudwatch: Any = None,
        chooser: random.Random | None = None,
        tls: ssl.SSLContext | None = None,
        loopback_ports: dict[int, int] | None = None,
    ) -> None:
        """``tls``: serve HTTPS with this context (an HTTPS listener's certificate); ``loopback_ports``: where
        each listener of the load balancer answers on loopback (filled once all front doors are bound), for the
        redirect actions."""
        self.region = region
        self.load_balancer = load_balancer
        self.route = route  # (load balancer, target ip, port) -> how a request to that target fares
        self.served: dict[str, int] = {}  # target group arn -> requests forwarded, for weight checks
        self._cloudwatch = cloudwatch  # a boto3 CloudWatch client, or None to publish nothing
        # Load spreading, not security: the standard generator; tests pass a seeded one to repeat a run.
        self._chooser = chooser or random.Random()  # noqa: S311
        self._pending: dict[tuple[str, int], _Second] = {}  # (target group arn, epoch second) -> counts
        self._pending_lock = threading.Lock()
        self._stopping = threading.Event()
        self.loopback_ports = loopback_ports if loopback_ports is not None else {}
        self.scheme = "https" if tls is not None else "http"
        handler = _handler(self._pick, self._record, self.scheme)
        self._server = _Server((host, port), handler)
        self._server.daemon_threads = True
        if tls is not None:
            # The handshake happens in the request's own thread (on its first read), never in the accepting one.
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True, do_handshake_on_connect=False)
        self._thread: threading.Thread | None = None
        # None: the listener's port is the one this front door bound (tests bind first, then provision).
        self.listener_port = listener_port if listener_port is not None else self._server.server_address[1]
        self.loopback_ports.setdefault(self.listener_port, self.port)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="front-door", daemon=True
        )
        self._thread.start()
        if self._cloudwatch is not None:
            threading.Thread(target=self._publish_every_second, name="front-door-metrics", daemon=True).start()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self.publish()

    def _record(self, target_group_arn: str, status: int | None, latency_s: float) -> None:
        key = (target_group_arn, int(time.time()))
        with self._pending_lock:
            self._pending.setdefault(key, _Second()).add(status, latency_s)

    def _publish_every_second(self) -> None:
        while not self._stopping.wait(1.0):
            self.publish()

    def publish(self) -> None:
        """Send the finished seconds' counts to CloudWatch (the current second keeps counting)."""
        if self._cloudwatch is None:
            return
        now = int(time.time())
        with self._pending_lock:
            done = {k: v for k, v in self._pending.items() if k[1] < now or self._stopping.is_set()}
            for key in done:
                del self._pending[key]
        data: list[dict[str, Any]] = []
        for (arn, second), counts in done.items():
            data.extend(_metric_data(self._dimensions(arn), datetime.fromtimestamp(second, UTC), counts))
        for start in range(0, len(data), 1000):  # PutMetricData's limit per call
            try:
                self._cloudwatch.put_metric_data(Namespace=NAMESPACE, MetricData=data[start : start + 1000])
            except Exception:  # noqa: BLE001 - metrics are best effort, as an ALB's are to its clients
                return

    def _dimensions(self, target_group_arn: str) -> list[dict[str, str]]:
        balancer = moto_network.load_balancer_arn(self.region, self.load_balancer)
        return [
            {"Name": "LoadBalancer", "Value": dimension(balancer)},
            {"Name": "TargetGroup", "Value": dimension(target_group_arn)},
        ]

    def _pick(self, path: str) -> tuple[str, str, Route] | dict[str, Any] | Redirect | None:
        """A target of a group chosen by the weights of the forward of the listener's rule that matches the
        path: the group, the target's id and its route; or the listener's fixed response (its
        FixedResponseConfig) or redirect when that is what the matching rule answers; or None (no routable
        target)."""
        # Read without the reconciler's lock: a request must not wait while it starts containers.
        actions = moto_network.listener_actions(self.region, self.load_balancer, self.listener_port, path)
        fixed = next((a["FixedResponseConfig"] for a in actions if a.get("Type") == "fixed-response"), None)
        if fixed is not None:
            return dict(fixed)
        redirect = next((a["RedirectConfig"] for a in actions if a.get("Type") == "redirect"), None)
        if redirect is not None:
            return Redirect(dict(redirect), self.loopback_ports, self.listener_port)
        candidates = []
        for arn, weight in moto_network.forwards(actions):
            targets = bridge.routable_targets(self.region, arn)
            if weight > 0 and targets:
                candidates.append((arn, weight, targets))
        if not candidates:
            return None
        arn, _, targets = self._chooser.choices(candidates, weights=[c[1] for c in candidates])[0]
        with self._pending_lock:
            self.served[arn] = self.served.get(arn, 0) + 1
        ip, port = self._chooser.choice(targets)
        return arn, f"{ip}:{port}", self.route(self.load_balancer, ip, port)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that refuses the certificate or hangs up is its own business, as at an ALB: no traceback."""
        if not isinstance(sys.exc_info()[1], (ssl.SSLError, ConnectionError)):
            super().handle_error(request, client_address)


def _metric_data(dimensions: list[dict[str, str]], at: datetime, counts: _Second) -> list[dict[str, Any]]:
    data = [
        {"MetricName": name, "Dimensions": dimensions, "Timestamp": at, "Value": value, "Unit": "Count"}
        for name, value in (
            ("RequestCount", counts.requests),
            ("HTTPCode_Target_5XX_Count", counts.target_5xx),
            ("TargetConnectionErrorCount", counts.connection_errors),
        )
    ]
    answered = counts.requests - counts.connection_errors
    if answered:
        data.append(
            {
                "MetricName": "TargetResponseTime",
                "Dimensions": dimensions,
                "Timestamp": at,
                "StatisticValues": {
                    "SampleCount": answered,
                    "Sum": counts.latency_sum_s,
                    "Minimum": counts.latency_min_s,
                    "Maximum": counts.latency_max_s,
                },
                "Unit": "Seconds",
            }
        )
    return data


def _handler(
    pick: Callable[[str], tuple[str, str, Route] | dict[str, Any] | Redirect | None],
    record: Callable[[str, int | None, float], None],
    scheme: str,
) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _fixed(self, config: dict[str, Any]) -> None:
            body = str(config.get("MessageBody") or "").encode()
            self.send_response(int(config["StatusCode"]))
            self.send_header("Content-Type", str(config.get("ContentType") or "text/plain"))
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _proxy(self) -> None:
            picked = pick(self.path)
            if picked is None:
                send_json(self, 503, {"error": "no healthy targets behind the listener"})
                return
            if isinstance(picked, dict):
                self._fixed(picked)
                return
            if isinstance(picked, Redirect):
                host = self.headers.get("Host") or "127.0.0.1"
                self.send_response(picked.status)
                self.send_header("Location", picked.location(scheme, host, self.path))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            target_group_arn, target_id, route = picked
            colour = {TARGET_GROUP_HEADER: target_group_arn.rsplit("/", 2)[-2]}
            started = time.monotonic()
            if route.blocked is not None:
                # The security groups drop the packets: the ALB waits out its timeout and answers 504.
                record(target_group_arn, None, time.monotonic() - started)
                send_json(self, 504, {"error": f"target {target_id} timed out: {route.blocked}"}, colour)
                return
            if route.address is None:
                record(target_group_arn, None, time.monotonic() - started)
                send_json(self, 502, {"error": f"target {target_id} refused the connection"}, colour)
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            headers["X-Forwarded-For"] = self.client_address[0]
            connection = http.client.HTTPConnection(*route.address, timeout=30)
            try:
                connection.request(self.command, self.path, body=body, headers=headers)
                answer = connection.getresponse()
                payload = answer.read()
            except OSError as exc:
                record(target_group_arn, None, time.monotonic() - started)
                send_json(
                    self,
                    502,
                    {"error": f"target {target_id} failed: {exc}"},
                    colour,
                )
                return
            finally:
                connection.close()
            record(target_group_arn, answer.status, time.monotonic() - started)
            self.send_response(answer.status)
            self.send_header(TARGET_GROUP_HEADER, colour[TARGET_GROUP_HEADER])
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
