"""How task containers reach the sandbox's AWS API: the Docker bridge's gateway, proved from a container.

ECS tasks reach AWS's endpoints from inside their VPC; the sandbox's tasks reach its moto server
through a forwarder bound to the bridge's gateway address (reachable from containers and from this
host alone). The address is the engine's IPAM gateway when the engine names one; a plain ``dockerd``
(no ``bip`` in daemon.json) names none, so the bridge interface's own address is read instead.
"""

from __future__ import annotations

import fcntl
import ipaddress
import os
import socket
import struct
from typing import Any

from snailtrail.run.images import BASE_IMAGE_ENV

SIOCGIFADDR = 0x8915  # Linux <linux/sockios.h>: an interface's IPv4 address
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
DEFAULT_BASE_IMAGE = "python:3.11-slim"  # the Dockerfiles' ARG BASE_IMAGE default
PROBE_TIMEOUT_S = 5
_PROBE_SCRIPT = """
import sys, urllib.error, urllib.request
try:
    urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2]))
except urllib.error.HTTPError:
    pass  # an HTTP answer, whatever its status, is the API reached
"""


class TaskNetworkError(Exception):
    """Task containers cannot reach the sandbox's AWS API; the message says why, ``fix`` what to do.

    ``part`` is the sandbox readiness part at fault: "engine" when no container of the base image
    can run at all, else "task_aws_api".
    """

    def __init__(self, message: str, fix: str, part: str = "task_aws_api") -> None:
        super().__init__(message)
        self.fix = fix
        self.part = part


def bridge_gateway(network: dict[str, Any]) -> str:
    """The gateway address of a bridge network, from ``docker network inspect``'s attributes."""
    pools = (network.get("IPAM") or {}).get("Config") or []
    for pool in pools:
        if pool.get("Gateway"):
            return pool["Gateway"].split("/")[0]
    interface = (network.get("Options") or {}).get(BRIDGE_NAME_OPTION)
    if not interface:
        raise TaskNetworkError(
            f"Docker network {network.get('Name')!r} names neither an IPAM gateway nor a bridge interface",
            fix="run the sandbox on an engine with the default bridge network (docker network inspect bridge)",
        )
    address = interface_address(interface)
    subnets = [ipaddress.ip_network(pool["Subnet"]) for pool in pools if pool.get("Subnet")]
    if subnets and not any(ipaddress.ip_address(address) in subnet for subnet in subnets):
        raise TaskNetworkError(
            f"bridge interface {interface} has {address}, outside the network's subnet {', '.join(map(str, subnets))}",
            fix="restart the Docker engine so that it configures its bridge again",
        )
    return address


def bridge_subnet(network: dict[str, Any], gateway: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    """The subnet of the bridge network that holds ``gateway``: the containers, and the only peers the forwarder
    serves (Linux accepts a packet for a local address on any interface, so others could reach it)."""
    for pool in (network.get("IPAM") or {}).get("Config") or []:
        if pool.get("Subnet") and ipaddress.ip_address(gateway) in ipaddress.ip_network(pool["Subnet"]):
            return ipaddress.ip_network(pool["Subnet"])
    raise TaskNetworkError(
        f"Docker network {network.get('Name')!r} names no subnet holding its gateway {gateway}",
        fix="run the sandbox on an engine with the default bridge network (docker network inspect bridge)",
    )


def interface_address(name: str) -> str:
    """The IPv4 address of a network interface of this host."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as handle:
        try:
            answer = fcntl.ioctl(handle.fileno(), SIOCGIFADDR, struct.pack("256s", name.encode()[:15]))
        except OSError as exc:
            raise TaskNetworkError(
                f"the Docker bridge interface {name} has no IPv4 address on this host ({exc.strerror})",
                fix="run the sandbox on the machine whose Docker engine runs the tasks "
                "(a remote DOCKER_HOST's bridge cannot be reached from here)",
            ) from exc
    return socket.inet_ntoa(answer[20:24])  # struct ifreq: name[16], then sockaddr_in's family, port, address


def probe_image() -> str:
    """The image the tasks are built from (a Python image), which the probe runs."""
    return os.environ.get(BASE_IMAGE_ENV) or DEFAULT_BASE_IMAGE


def prove_reachable(client: Any, url: str, labels: dict[str, str]) -> None:
    """Connect to ``url`` from inside a container of the base image on the bridge, as a task would."""
    from docker.errors import ContainerError, DockerException, ImageNotFound

    image = probe_image()
    try:
        client.images.get(image)
    except ImageNotFound:
        try:
            client.images.pull(image)
        except DockerException as exc:
            raise TaskNetworkError(
                f"the base image {image} is not on the Docker engine and cannot be pulled: {exc}",
                fix=f"set {BASE_IMAGE_ENV} to a local Python image (scripts/ensure-base-image.sh makes one)",
                part="engine",
            ) from exc
    try:
        client.containers.run(
            image,
            entrypoint=["python3", "-c", _PROBE_SCRIPT, url, str(PROBE_TIMEOUT_S)],
            remove=True,
            labels=labels,
        )
    except ContainerError as exc:
        output = (exc.stderr or b"").decode(errors="replace").strip().splitlines()
        raise TaskNetworkError(
            f"a container of {image} cannot reach the sandbox's AWS API at {url}: "
            f"{output[-1] if output else f'exit {exc.exit_status}'}",
            fix="let containers reach the bridge's gateway (a firewall dropping input from docker0?); "
            "restarting the Docker engine restores its own rules",
        ) from exc
    except DockerException as exc:
        raise TaskNetworkError(
            f"the Docker engine cannot run a container of {image}: {exc}",
            fix=f"check the engine (docker info; docker run --rm {image} python3 -V)",
            part="engine",
        ) from exc
