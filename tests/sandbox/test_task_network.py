"""Where task containers reach the sandbox's AWS API: the bridge's gateway, with or without IPAM's Gateway."""

from __future__ import annotations

import pytest

from snailtrail.sandbox.task_network import TaskNetworkError, bridge_gateway


def test_the_ipam_gateway_is_used_when_the_engine_names_one() -> None:
    network = {
        "Name": "bridge",
        "IPAM": {"Config": [{"Subnet": "172.18.0.0/16", "Gateway": "172.18.0.1"}]},
        "Options": {"com.docker.network.bridge.name": "no-such-if0"},
    }
    assert bridge_gateway(network) == "172.18.0.1"


def test_without_an_ipam_gateway_the_bridge_interface_address_is_read() -> None:
    # A plain dockerd (no bip in daemon.json) gives only a Subnet; the loopback interface stands in for docker0.
    network = {
        "Name": "bridge",
        "IPAM": {"Config": [{"Subnet": "127.0.0.0/8"}]},
        "Options": {"com.docker.network.bridge.name": "lo"},
    }
    assert bridge_gateway(network) == "127.0.0.1"


def test_a_bridge_interface_missing_on_this_host_is_an_error_naming_it() -> None:
    network = {
        "Name": "bridge",
        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
        "Options": {"com.docker.network.bridge.name": "no-such-if0"},
    }
    with pytest.raises(TaskNetworkError, match="no-such-if0") as caught:
        bridge_gateway(network)
    assert "DOCKER_HOST" in caught.value.fix


def test_an_interface_address_outside_the_network_subnet_is_an_error() -> None:
    network = {
        "Name": "bridge",
        "IPAM": {"Config": [{"Subnet": "172.17.0.0/16"}]},
        "Options": {"com.docker.network.bridge.name": "lo"},
    }
    with pytest.raises(TaskNetworkError, match=r"127\.0\.0\.1, outside the network's subnet 172\.17\.0\.0/16"):
        bridge_gateway(network)


def test_a_network_with_neither_gateway_nor_bridge_interface_is_an_error() -> None:
    with pytest.raises(TaskNetworkError, match="names neither an IPAM gateway nor a bridge interface"):
        bridge_gateway({"Name": "custom", "IPAM": {"Config": []}, "Options": {}})
