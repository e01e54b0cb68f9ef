"""A TCP forwarder: lets task containers reach the sandbox's AWS API, which listens on loopback only.

It listens on the Docker bridge's gateway address, as a task in a VPC reaches AWS's endpoints without
the API being public, and serves only peers in the bridge's subnet: Linux accepts a packet for a
local address whatever interface it came in on, so a listening address alone confines nothing.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading


class TcpForwarder:
    def __init__(
        self,
        listen_host: str,
        target: tuple[str, int],
        peers: ipaddress.IPv4Network | ipaddress.IPv6Network,
    ) -> None:
        self._target = target
        self._peers = peers
        self._server = socket.create_server((listen_host, 0))
        self._stop = threading.Event()

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._server.getsockname()[:2]
        return host, port

    def start(self) -> None:
        threading.Thread(target=self._accept, name="forwarder", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        self._server.close()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, peer = self._server.accept()
            except OSError:
                return
            if ipaddress.ip_address(peer[0]) not in self._peers:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self._target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)  # the 10 s bound is for connecting; answers may take longer
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(source, sink), daemon=True).start()


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(65536):
            sink.sendall(chunk)
    except OSError:
        pass
    finally:
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
