"""The task-network forwarder serves peers of the Docker bridge's subnet only."""

from __future__ import annotations

import ipaddress
import socket
import threading
from collections.abc import Iterator

import pytest

from snailtrail.sandbox.forwarder import TcpForwarder


@pytest.fixture
def upstream() -> Iterator[tuple[tuple[str, int], list[bytes]]]:
    """A loopback server that answers "pong" and records what reached it."""
    server = socket.create_server(("127.0.0.1", 0))
    received: list[bytes] = []

    def serve() -> None:
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                received.append(connection.recv(100))
                connection.sendall(b"pong")

    threading.Thread(target=serve, daemon=True).start()
    try:
        yield server.getsockname()[:2], received
    finally:
        server.close()


def exchange(forwarder: TcpForwarder) -> bytes:
    """What a peer sending "ping" gets back (nothing when the forwarder hangs up)."""
    with socket.create_connection(forwarder.address, timeout=5) as connection:
        try:
            connection.sendall(b"ping")
            return connection.recv(100)
        except ConnectionResetError:
            return b""


@pytest.mark.parametrize(("subnet", "served"), [("127.0.0.0/8", True), ("172.17.0.0/16", False)])
def test_only_peers_in_the_bridge_subnet_reach_the_api(
    upstream: tuple[tuple[str, int], list[bytes]], subnet: str, served: bool
) -> None:
    target, received = upstream
    forwarder = TcpForwarder("127.0.0.1", target, ipaddress.ip_network(subnet))
    forwarder.start()
    try:
        answer = exchange(forwarder)
    finally:
        forwarder.stop()
    assert (answer, received) == ((b"pong", [b"ping"]) if served else (b"", []))
