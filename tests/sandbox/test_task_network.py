"""Where task containers reach the sandbox's AWS API: the bridge's gateway, with or without IPAM's Gateway."""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from snailtrail.run.images import BASE_IMAGE_ENV
from snailtrail.sandbox.task_network import TaskNetworkError, bridge_gateway, bridge_subnet, prove_reachable
from tests.conftest import BASE_IMAGE, require_engine


def bridge(subnet: str, interface: str, gateway: str | None = None) -> dict[str, Any]:
    """``docker network inspect bridge``'s attributes; a plain dockerd (no bip) gives no Gateway."""
    pool = {"Subnet": subnet} | ({"Gateway": gateway} if gateway else {})
    return {"Name": "bridge", "IPAM": {"Config": [pool]}, "Options": {"com.docker.network.bridge.name": interface}}


def test_the_ipam_gateway_is_used_when_the_engine_names_one() -> None:
    assert bridge_gateway(bridge("172.18.0.0/16", "no-such-if0", gateway="172.18.0.1")) == "172.18.0.1"


def test_without_an_ipam_gateway_the_bridge_interface_address_is_read() -> None:
    # The loopback interface stands in for docker0: its address is read from the host, not from Docker.
    assert bridge_gateway(bridge("127.0.0.0/8", "lo")) == "127.0.0.1"


def test_a_bridge_interface_missing_on_this_host_is_an_error_naming_it() -> None:
    with pytest.raises(TaskNetworkError, match="no-such-if0") as caught:
        bridge_gateway(bridge("172.17.0.0/16", "no-such-if0"))
    assert "DOCKER_HOST" in caught.value.fix


def test_an_interface_address_outside_the_network_subnet_is_an_error() -> None:
    with pytest.raises(TaskNetworkError, match=r"127\.0\.0\.1, outside the network's subnet 172\.17\.0\.0/16"):
        bridge_gateway(bridge("172.17.0.0/16", "lo"))


def test_a_network_with_neither_gateway_nor_bridge_interface_is_an_error() -> None:
    with pytest.raises(TaskNetworkError, match="names neither an IPAM gateway nor a bridge interface"):
        bridge_gateway({"Name": "custom", "IPAM": {"Config": []}, "Options": {}})


def test_the_forwarders_peers_are_the_subnet_holding_the_gateway() -> None:
    network = bridge("172.18.0.0/16", "no-such-if0", gateway="172.18.0.1")
    network["IPAM"]["Config"].insert(0, {"Subnet": "fd00::/64"})
    assert str(bridge_subnet(network, "172.18.0.1")) == "172.18.0.0/16"


def test_a_bridge_without_a_subnet_holding_its_gateway_is_an_error() -> None:
    with pytest.raises(TaskNetworkError, match=r"no subnet holding its gateway 10\.0\.0\.1"):
        bridge_subnet(bridge("172.17.0.0/16", "docker0"), "10.0.0.1")


@pytest.fixture
def engine(monkeypatch: pytest.MonkeyPatch) -> Any:
    require_engine()
    import docker

    monkeypatch.setenv(BASE_IMAGE_ENV, BASE_IMAGE)
    return docker.from_env(timeout=120)


def bridge_address(engine: Any) -> str:
    return bridge_gateway(engine.networks.get("bridge").attrs)


@pytest.mark.docker
def test_a_container_reaches_an_http_server_on_the_bridge_gateway(engine: Any) -> None:
    server = ThreadingHTTPServer((bridge_address(engine), 0), BaseHTTPRequestHandler)  # answers every GET 501
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        prove_reachable(engine, "http://{}:{}/moto-api/".format(*server.server_address), {})
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.docker
def test_a_container_that_cannot_connect_fails_the_task_aws_api_part(engine: Any) -> None:
    with socket.socket() as closed:
        closed.bind((bridge_address(engine), 0))
        url = "http://{}:{}/moto-api/".format(*closed.getsockname())
    with pytest.raises(TaskNetworkError, match="cannot reach the sandbox's AWS API") as caught:
        prove_reachable(engine, url, {})
    assert caught.value.part == "task_aws_api"


@pytest.mark.docker
def test_a_base_image_that_cannot_be_had_fails_the_engine_part(engine: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(BASE_IMAGE_ENV, "snailtrail-test/no-such-image:missing")
    with pytest.raises(TaskNetworkError, match="no-such-image:missing is not on the Docker engine") as caught:
        prove_reachable(engine, "http://127.0.0.1:9/", {})
    assert caught.value.part == "engine" and BASE_IMAGE_ENV in caught.value.fix
