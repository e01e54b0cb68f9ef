"""The sandbox's long-running process: moto's server, the reconciler, the front door and DNS.

Started detached by ``snailtrail sandbox up``; it writes the state file when everything answers
and removes it, with every container it started, on SIGTERM.
"""

from __future__ import annotations

import argparse
import functools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

from snailtrail.aws.session import AccessKey, AwsClients
from snailtrail.config.phases import load_phases
from snailtrail.config.settings import Settings, load_settings
from snailtrail.sandbox import control, moto_network, task_network
from snailtrail.sandbox.certificate import CertificateFiles, write_certificate
from snailtrail.sandbox.dns import DnsResponder
from snailtrail.sandbox.forwarder import TcpForwarder
from snailtrail.sandbox.front_door import FrontDoor
from snailtrail.sandbox.provision import provision
from snailtrail.sandbox.public_dns import PublicDns, public_dns_file, public_view
from snailtrail.sandbox.readiness import Readiness
from snailtrail.sandbox.reconciler import Reconciler
from snailtrail.sandbox.runtime import DockerRuntime

log = logging.getLogger("snailtrail.sandbox")
HEALTH_INTERVAL_S = 5


def free_port(preferred: int | None = None) -> int:
    """The preferred port when it can be bound (the listener's own, for a realistic URL), else any."""
    for candidate in ([preferred] if preferred else []) + [0]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise OSError("no free loopback port")


def seed(settings: Settings, endpoint: str, key: AccessKey) -> Readiness:
    """Run the environment's seed commands (the service's own publisher, say) against the sandbox.

    ``python`` in a command is the interpreter running snailtrail, never whichever ``python`` comes
    first on PATH (a user's own virtual environment); a command naming a path runs that path.
    The first command that fails stops the seeding: the phases would run without what it puts.
    """
    environment = (
        os.environ
        | key.environment()
        | {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_DEFAULT_REGION": settings.environment.region,
            "AWS_REGION": settings.environment.region,
        }
    )
    fix = (
        f"make the command work with {settings.path}'s environment {settings.environment_name}: "
        f"`python` in seed_commands is snailtrail's own interpreter ({sys.executable}), so install what the "
        "command imports there (./scripts/ensure-venv.sh installs the service), or name an interpreter path instead"
    )
    for command in settings.environment.seed_commands:
        argv = [sys.executable if part == "python" else part for part in command]
        shown = " ".join(command)
        try:
            result = subprocess.run(
                argv, cwd=settings.root, env=environment, capture_output=True, text=True, timeout=120, check=False
            )
        except (OSError, subprocess.SubprocessError) as exc:
            return Readiness(False, f"seed command `{shown}` could not run: {exc}", fix)
        output = (result.stdout + result.stderr).strip()
        log.info("seed %s exited %d: %s", shown, result.returncode, output[-500:])
        if result.returncode != 0:
            last = output.splitlines()[-1] if output else "no output"
            return Readiness(False, f"seed command `{shown}` exited {result.returncode}: {last}", fix)
    count = len(settings.environment.seed_commands)
    return Readiness(True, f"{count} seed command(s) succeeded" if count else "no seed commands")


def task_endpoint(endpoint: str, sandbox_id: str) -> tuple[TcpForwarder | None, dict[str, Readiness]]:
    """The AWS API for task containers: a forwarder on the Docker bridge's gateway, proved from a container.

    Also says whether the engine can run a container of the base image at all ("engine").
    """
    import docker

    forwarder = None
    try:
        client = docker.from_env(timeout=120)
        version = client.version()
        engine = Readiness(True, f"Docker engine {version.get('Version')} (API {version.get('ApiVersion')})")
        bridge = client.networks.get("bridge").attrs
        gateway = task_network.bridge_gateway(bridge)
        subnet = task_network.bridge_subnet(bridge, gateway)
        forwarder = TcpForwarder(gateway, ("127.0.0.1", int(endpoint.rsplit(":", 1)[1])), subnet)
        forwarder.start()
        url = "http://{}:{}/moto-api/".format(*forwarder.address)
        task_network.prove_reachable(client, url, {DockerRuntime.LABEL: sandbox_id})
    except task_network.TaskNetworkError as exc:
        log.error("%s: %s", exc.part, exc)
        failed = Readiness(False, str(exc), exc.fix)
        if exc.part == "engine":
            return forwarder, {"engine": failed, "task_aws_api": Readiness(False, "not proved: see engine")}
        return forwarder, {"engine": engine, "task_aws_api": failed}
    except (docker.errors.DockerException, OSError) as exc:
        log.error("Docker engine: %s", exc)
        failed = Readiness(False, f"Docker engine: {exc}", "check the engine: docker info")
        return forwarder, {"engine": failed, "task_aws_api": failed}
    proved = Readiness(True, f"a container of {task_network.probe_image()} reached {url}")
    return forwarder, {"engine": engine, "task_aws_api": proved}


def registry_readiness(registry: str | None) -> Readiness:
    if registry is None:
        return Readiness(True, "none: images stay on the local Docker engine")
    if not control.answers(f"http://{registry}/v2/"):
        return Readiness(False, f"registry {registry} does not answer", "scripts/ensure-registry.sh starts one")
    return Readiness(True, f"{registry} answers the OCI distribution API")


def listener_front_doors(
    clients: AwsClients, settings: Settings, reconciler: Reconciler, certificate: CertificateFiles
) -> dict[int, FrontDoor]:
    """One front door per listener the stack declares, by its port: HTTPS with the sandbox's certificate where
    the listener is HTTPS, each on its own port when it is free, and each publishing the ALB's metrics."""
    lb = settings.service.load_balancer
    elb = clients.client("elbv2")
    balancer = elb.describe_load_balancers(Names=[lb.name])["LoadBalancers"][0]
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    cloudwatch = clients.client("cloudwatch")
    loopback_ports: dict[int, int] = {}
    doors = {}
    for listener in listeners:
        port = int(listener["Port"])
        tls = certificate.server_context() if listener["Protocol"] == "HTTPS" else None
        doors[port] = FrontDoor(
            settings.environment.region,
            lb.name,
            port,
            reconciler.route,
            port=free_port(port),
            cloudwatch=cloudwatch,
            tls=tls,
            loopback_ports=loopback_ports,
        )
    return doors


def serve(config: str, env: str, state_file: Path, registry: str | None) -> None:
    from snailtrail.sandbox.moto_server import SandboxAwsApi, generate_key

    settings = load_settings(config, env)
    phases = load_phases(settings.phases_path)
    sandbox_id = uuid.uuid4().hex[:12]
    key = generate_key()
    aws_api = SandboxAwsApi(key)
    aws_api.start()
    endpoint = aws_api.url
    clients = AwsClients(settings.environment, endpoint_url=endpoint, sandbox_key=key)
    # The domain's certificate, as an account's owner requests it in ACM before the stack (docs/production.md).
    domain = settings.domain.name if settings.domain is not None else "localhost"
    certificate, pem, private_key = write_certificate(state_file.parent, domain)
    stack = provision(
        clients, settings, phases, (pem, private_key), health_interval_s=HEALTH_INTERVAL_S, on_event=log.info
    )
    seeded = seed(settings, endpoint, key)
    forwarder, task_access = task_endpoint(endpoint, sandbox_id)
    readiness = task_access | {"seed": seeded, "registry": registry_readiness(registry)}
    task_environment = {}
    if forwarder is not None:
        # What ECS gives a task: credentials and a way to the AWS API (here, the sandbox's).
        task_environment = key.environment() | {
            "AWS_ENDPOINT_URL": "http://{}:{}".format(*forwarder.address),
            "AWS_REGION": settings.environment.region,
            "AWS_DEFAULT_REGION": settings.environment.region,
        }
    runtime = DockerRuntime(sandbox_id, task_environment)
    # The sandbox minute of native deployments' bakes and hook timeouts: 1 s unless set (docs/sandbox.md).
    minute_s = float(os.environ.get("SNAILTRAIL_SANDBOX_MINUTE_S", "1"))
    reconciler = Reconciler(settings.environment.region, runtime, minute_s=minute_s)
    reconciler.start(interval_s=0.5)
    lb = settings.service.load_balancer
    front_doors = listener_front_doors(clients, settings, reconciler, certificate)
    for door in front_doors.values():
        door.start()
    route53 = functools.partial(moto_network.dns_records, "127.0.0.1", lb.name)
    dns = DnsResponder(public_view(route53, PublicDns(public_dns_file(settings))))
    dns.start()
    state = {
        "pid": os.getpid(),
        "sandbox_id": sandbox_id,
        "aws_endpoint_url": endpoint,
        "aws_access_key_id": key.access_key_id,
        "aws_secret_access_key": key.secret_access_key,
        "front_door_url": front_doors[settings.production_listener_port].url,
        "test_url": front_doors[lb.test_listener_port].url if lb.test_listener_port in front_doors else None,
        # Every listener's front door by its port (80 redirects to HTTPS), and the one certificate they trust.
        "listener_urls": {str(port): door.url for port, door in front_doors.items()},
        "ca_file": str(certificate.certificate),
        "dns_server": "{}:{}".format(*dns.address),
        "registry": registry,
        "task_environment": task_environment,  # the sandbox's own key (this file is 0600): smoke runs tasks with it too
        "stack": stack.stack_name,
        "load_balancer_dns": stack.outputs.get("LoadBalancerDnsName"),
        "started_at": time.time(),
        "config": config,
        "environment": settings.environment_name,
        "readiness": {part: entry.as_dict() for part, entry in readiness.items()},
    }
    temporary = state_file.with_suffix(".tmp")
    temporary.unlink(missing_ok=True)
    # It holds the sandbox's key: readable by its owner alone.
    with os.fdopen(os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
        handle.write(json.dumps(state, indent=2))
    temporary.replace(state_file)
    log.info("sandbox ready: %s", {name: value for name, value in state.items() if name != "aws_secret_access_key"})

    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    signal.signal(signal.SIGINT, lambda *_: stopping.set())
    stopping.wait()
    log.info("stopping sandbox %s", sandbox_id)
    reconciler.stop()
    removed = runtime.remove_all()
    for door in front_doors.values():
        door.stop()
    dns.stop()
    if forwarder is not None:
        forwarder.stop()
    aws_api.stop()
    state_file.unlink(missing_ok=True)
    log.info("stopped; removed %d container(s)", removed)


def main() -> None:
    parser = argparse.ArgumentParser(description="snailtrail sandbox daemon (started by `snailtrail sandbox up`)")
    parser.add_argument("--config", required=True)
    parser.add_argument("--env", required=True)
    parser.add_argument("--state-file", required=True, type=Path)
    parser.add_argument("--registry")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's server logs every request otherwise
    serve(args.config, args.env, args.state_file, args.registry)


if __name__ == "__main__":
    main()
