"""Where task containers reach the sandbox's AWS API: the bridge's gateway, with or without IPAM's Gateway."""

from __future__ import annotations

from typing import Any

import pytest

from snailtrail.sandbox.task_network import TaskNetworkError, bridge_gateway


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
