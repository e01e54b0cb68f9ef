"""Shared fixtures: an in-process sandbox (moto + reconciler + front door) and the CLI run in-process."""

from __future__ import annotations

import functools
import gc
import json
import os
import random
import shutil
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

# CI's demands (engine problems fail, Hypothesis derandomised), shared with service/tests; pytester runs
# the plugin's own tests in a pytest of their own.
pytest_plugins = ["tests.ci_plugin", "pytester"]

FIXTURES = Path(__file__).parent / "fixtures"
# A container that exits at start-up, as a service missing a dependency does (tests/in_memory_runtime.py
# runs a task's command as a process).
CRASHING = ["sh", "-c", "echo loading models; echo 'ModuleNotFoundError: no module named cv2' >&2; exit 1"]
REPO = Path(__file__).resolve().parents[1]
EXECUTION_ROLE_ARN = "arn:aws:iam::123456789012:role/shine-execution"
LOAD_BALANCER_ROLE_ARN = "arn:aws:iam::123456789012:role/shine-ecs-load-balancers"

BASE_IMAGE = os.environ.get("SNAILTRAIL_BASE_IMAGE", "snailtrail/python:3.11-bookworm")


def docker_problem() -> str | None:
    """Why the container tests cannot run here (no engine, no base image), or None."""
    try:
        import docker

        client = docker.from_env(timeout=10)
        client.ping()
    except Exception as exc:  # noqa: BLE001 - any failure means no engine
        return f"no Docker engine reachable ({exc}); scripts/ensure-docker-engine.sh starts one"
    try:
        client.images.get(BASE_IMAGE)
    except Exception:  # noqa: BLE001
        return f"base image {BASE_IMAGE} missing; scripts/ensure-base-image.sh makes it"
    return None


def require_engine() -> None:
    """Skip the test, saying why, when the container engine or the base image is missing (fails under CI)."""
    # Imported here: pytest imports the plugin itself (pytest_plugins above), rewriting its asserts.
    from tests.ci_plugin import skip_without_engine

    problem = docker_problem()
    if problem:
        skip_without_engine(problem)


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class Sandbox:
    """One isolated environment: a config file, moto state, a reconciler and a front door."""

    root: Path
    config: Path
    front_door_url: str
    runtime: Any
    reconciler: Any
    front_door: Any
    capsys: Any
    api_calls: Counter[str] = field(default_factory=Counter)

    def run(self, *args: str) -> CliResult:
        from snailtrail.cli import run

        self.capsys.readouterr()
        code = run(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return CliResult(code, out, err)

    def deploy(self, phase: str, image: str, *extra: str) -> CliResult:
        return self.run(
            "deploy",
            phase,
            "--image",
            image,
            "--skip-smoke",
            "--yes",
            "--timeout",
            "20",
            "--poll-interval",
            "0.05",
            *extra,
        )

    def edit_config(self, change: Any) -> None:
        """Apply ``change(document)`` to the configuration file, as an operator editing it would."""
        document = yaml.safe_load(self.config.read_text())
        change(document)
        self.config.write_text(yaml.safe_dump(document))

    def edit_phase(self, name: str, change: Any) -> None:
        path = next((self.root / "phases").glob(f"{name}-*.yaml"))
        document = yaml.safe_load(path.read_text())
        change(document)
        path.write_text(yaml.safe_dump(document))

    def drill(self, kind: str | None) -> list[str] | str:
        """Inject a drill (or heal with None) through the domain layer: the CLI refuses non-sandbox environments."""
        from snailtrail.config.settings import load_settings
        from snailtrail.context import Context
        from snailtrail.sandbox import drills
        from snailtrail.ui import Reporter

        class InProcessContext(Context):
            # Heal waits for its rollout as ``deploy`` above does (--poll-interval 0.05): the in-process
            # sandbox answers in milliseconds, where the unit environment's kind (aws) would poll every 5 s.
            default_poll_interval_s = 0.05

        context = InProcessContext(load_settings(str(self.config)), Reporter(quiet=True))
        return drills.heal(context) if kind is None else drills.inject(context, kind)

    def break_phase(self, name: str, command: list[str] | None = None, **environment: str) -> None:
        """Give a phase's task definition a fault: a command (CRASHING) or drill variables (SHINE_DRILL_*)."""

        def change(document: dict[str, Any]) -> None:
            if command is not None:
                document["container"]["command"] = command
            document["container"]["environment"].update(environment)

        self.edit_phase(name, change)

    def extra_target_group(self, name: str) -> str:
        """A second, empty target group in the service's VPC; its ARN."""
        import boto3

        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        live = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
        return elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8000, VpcId=live["VpcId"], TargetType="ip")[
            "TargetGroups"
        ][0]["TargetGroupArn"]

    def forward(self, weights: dict[str, int]) -> None:
        """Point the production listener's service rule (priority 10) at these target groups (name or ARN ->
        weight)."""
        import boto3

        elbv2 = boto3.client("elbv2", region_name="us-east-1")
        arns = {
            name: name
            if name.startswith("arn:")
            else elbv2.describe_target_groups(Names=[name])["TargetGroups"][0]["TargetGroupArn"]
            for name in weights
        }
        balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
        listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
        listener = next(x for x in listeners if x["Port"] == 443)
        rule = next(
            r for r in elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"] if r["Priority"] == "10"
        )
        groups = [{"TargetGroupArn": arns[name], "Weight": weight} for name, weight in weights.items()]
        elbv2.modify_rule(
            RuleArn=rule["RuleArn"], Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}]
        )

    def copy_revision(
        self, image: str, keep_tags: bool = False, command: list[str] | None = None, without_logs: bool = False
    ) -> str:
        """Register a copy of the family's newest revision with another image (and command), as ecs-deploy
        does (which keeps the tags too); ``without_logs`` leaves out its logConfiguration, as a revision
        registered by hand may. Its ARN."""
        import boto3

        ecs = boto3.client("ecs", region_name="us-east-1")
        answer = ecs.describe_task_definition(taskDefinition="shine", include=["TAGS"])
        live = answer["taskDefinition"]
        keys = ("family", "networkMode", "requiresCompatibilities", "cpu", "memory", "executionRoleArn", "taskRoleArn")
        container = live["containerDefinitions"][0] | {"image": image}
        if command is not None:
            container["command"] = command
        if without_logs:
            del container["logConfiguration"]
        copy = {k: live[k] for k in keys if k in live} | {"containerDefinitions": [container]}
        if keep_tags:
            copy["tags"] = answer["tags"]
        return ecs.register_task_definition(**copy)["taskDefinition"]["taskDefinitionArn"]

    @contextmanager
    def reconciler_by_hand(self) -> Iterator[Callable[[], None]]:
        """The background reconciler held still (its pass waits for the control plane's lock, which
        this holds); the test runs each pass itself with what it gets, so what a poll sees is fixed."""
        from snailtrail.sandbox import moto_bridge

        with moto_bridge.LOCK:
            yield self.reconciler.tick

    def mutating_calls(self) -> list[str]:
        from snailtrail.aws.session import is_mutating

        return sorted(c for c in self.api_calls if is_mutating(c.split(".", 1)[1]))


def forwarding_listener(port: int, target_group: str) -> None:
    """A second HTTP listener on shine-alb whose default action forwards to the target group."""
    import boto3

    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    group = elbv2.describe_target_groups(Names=[target_group])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=port,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )


def write_config(root: Path, public_url: str, test_listener_port: int | None = 8443, **environment: Any) -> Path:
    shutil.copytree(FIXTURES / "phases", root / "phases", dirs_exist_ok=True)
    document = yaml.safe_load((REPO / "snailtrail.yaml").read_text())
    document["service"]["load_balancer"]["test_listener_port"] = test_listener_port
    document["default_environment"] = "unit"
    document["environments"] = {
        "unit": {
            "kind": "aws",
            "region": "us-east-1",
            "public_url": public_url,
            "registry": "ecr",
            "state_table": "snailtrail-state",
            # What an aws environment needs before any call (snailtrail/config/aws_rules.py); moto's account.
            # The template's stack creates the role and the log group (provision_unit), as `infra up` would.
            "execution_role_arn": EXECUTION_ROLE_ARN,
            "log_group": "/ecs/shine",
            "load_balancer_role_arn": LOAD_BALANCER_ROLE_ARN,
            "model_bucket": "shine-models",  # the template's bucket
            # The service's rule on each listener (the stack's, at priority 10): the listener's default is a 404.
            "traffic": {"rule_priority": 10},
            "cpu_architecture": "X86_64",
            **environment,
        }
    }
    path = root / "snailtrail.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


@pytest.fixture(autouse=True, scope="session")
def strict_moto() -> None:
    """Every test's moto refuses what AWS refuses, as the sandbox's does, whichever test runs first."""
    from snailtrail.sandbox import moto_strict

    moto_strict.enable_strict_mode()


@pytest.fixture(autouse=True, scope="session")
def shared_botocore_models() -> Iterator[None]:
    """Every botocore session of the test process reads the service models through one loader.

    Each session gets a loader of its own, which parses the JSON models again for every client (EC2's
    alone takes 0.1-0.2 s); every CLI run, moto start and boto3.client() makes a new session, so this
    was most of a sandbox test's set-up. The models are read-only data: one session shares them
    between its clients the same way."""
    import botocore.session

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(botocore.session, "create_loader", functools.cache(botocore.session.create_loader))
        yield


def use_test_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and us-east-1, and nothing that could point snailtrail at a real account."""
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "SNAILTRAIL_CONFIG", "SNAILTRAIL_ENV"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    use_test_credentials(monkeypatch)


def provision_unit(settings_path: Path) -> Any:
    """The unit environment's stack, made from the repository's template as ``sandbox up`` makes it (replaced
    tasks do not drain); its settings."""
    from snailtrail.aws.session import AwsClients
    from snailtrail.config.phases import load_phases
    from snailtrail.config.settings import load_settings
    from snailtrail.sandbox.certificate import self_signed
    from snailtrail.sandbox.provision import provision

    settings = load_settings(str(settings_path))
    certificate = self_signed("shine.sandbox.test")
    provision(
        AwsClients(settings.environment),
        settings,
        load_phases(settings.phases_path),
        certificate,
        deregistration_delay_s=0,
    )
    return settings


@pytest.fixture(scope="session")
def provisioned_moto(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """moto's state once the unit environment's stack is made: made once a session, then copied for each test
    (moto's backends were built anew for each test: most of a test's set-up)."""
    from moto import mock_aws

    from tests import moto_state

    with pytest.MonkeyPatch.context() as patch, mock_aws():
        use_test_credentials(patch)
        provision_unit(write_config(tmp_path_factory.mktemp("provisioned"), "http://placeholder"))
        state = moto_state.snapshot()
        moto_state.discard()
    # What lives from here to the session's end (moto, botocore's models, this snapshot) leaves the
    # garbage collector's scans: every full collection walked all of it again, 0.3 s each, dozens a file.
    gc.collect()
    gc.freeze()
    return state


@pytest.fixture
def record_api_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every AWS call snailtrail makes, counted by its clients' own before-call hook."""
    from snailtrail.aws import session

    calls: Counter[str] = Counter()
    monkeypatch.setattr(session.AwsClients, "observers", [calls])
    return calls


@pytest.fixture
def sandbox(
    tmp_path: Path,
    aws_env: None,
    provisioned_moto: Any,
    record_api_calls: Counter[str],
    capsys: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Sandbox]:
    import boto3
    from moto import mock_aws

    from snailtrail.aws import cloudwatch
    from snailtrail.sandbox import moto_network
    from snailtrail.sandbox.dns import DnsResponder
    from snailtrail.sandbox.front_door import FrontDoor
    from snailtrail.sandbox.public_dns import PublicDns, public_dns_file, public_view
    from snailtrail.sandbox.reconciler import Reconciler
    from tests import moto_state
    from tests.in_memory_runtime import InMemoryRuntime

    # The in-process front door stands in for the ALB, and publishes its metrics as the sandbox's does: each
    # second, as soon as it ends. Its timing replaces the ALB's (one minute, published a minute later), so
    # the gates judge it, and the rules refuse bakes too short for it, as they would on AWS.
    monkeypatch.setattr(cloudwatch, "ALB_PERIOD_S", 1)
    monkeypatch.setattr(cloudwatch, "ALB_PUBLICATION_DELAY_S", 0)
    with mock_aws():
        moto_state.restore(provisioned_moto)
        runtime = InMemoryRuntime()
        reconciler = Reconciler("us-east-1", runtime, health_interval_s=0.05)
        from snailtrail.config.settings import load_settings

        settings = load_settings(str(write_config(tmp_path, "http://placeholder")))
        lb = settings.service.load_balancer
        # The in-process front doors serve plain HTTP (the unit environment is an aws one, which trusts the
        # system's store alone); tests/sandbox/test_front_door.py and the e2e tests prove their TLS.
        test_door = FrontDoor("us-east-1", lb.name, lb.test_listener_port, reconciler.route)
        # A plain boto3 client: the front door's metrics are the ALB's, not calls snailtrail makes.
        cloudwatch = boto3.client("cloudwatch", region_name="us-east-1")
        # A seeded weighted choice: a run sends the same sequence of requests to the same colours.
        chooser = random.Random(12)
        front_door = FrontDoor(
            "us-east-1", lb.name, lb.listener_port, reconciler.route, cloudwatch=cloudwatch, chooser=chooser
        )
        front_door.start()
        test_door.start()
        route53 = functools.partial(moto_network.dns_records, "127.0.0.1", lb.name)
        dns = DnsResponder(public_view(route53, PublicDns(public_dns_file(settings))))
        dns.start()
        config = write_config(tmp_path, front_door.url, test_url=test_door.url, dns_server="{}:{}".format(*dns.address))
        record_api_calls.clear()
        reconciler.start(interval_s=0.02)
        try:
            yield Sandbox(tmp_path, config, front_door.url, runtime, reconciler, front_door, capsys, record_api_calls)
        finally:
            reconciler.stop()
            # Each server's stop waits out its own poll of its socket (0.1-0.2 s): they wait together.
            with ThreadPoolExecutor() as stopping:
                list(stopping.map(lambda server: server.stop(), (front_door, test_door, dns)))
            moto_state.discard()


def count_polls(monkeypatch: pytest.MonkeyPatch, after_sleep: Callable[[], None] | None = None) -> list[float]:
    """Every poll of watch_deployment from now on (each sleeps first): one entry a poll.

    ``after_sleep`` runs at the end of each sleep, just before the poll's look (a reconciler pass)."""
    import time
    from types import SimpleNamespace

    from snailtrail.run import deployment_watch

    polls: list[float] = []

    def sleep(seconds: float) -> None:
        polls.append(seconds)
        time.sleep(seconds)
        if after_sleep is not None:
            after_sleep()

    monkeypatch.setattr(deployment_watch, "time", SimpleNamespace(sleep=sleep, monotonic=time.monotonic))
    return polls


@pytest.fixture
def production_config(tmp_path: Path) -> Path:
    """A copy of the repository's snailtrail.yaml to edit; its phases, Dockerfiles and service are the repository's."""
    document = yaml.safe_load((REPO / "snailtrail.yaml").read_text())
    document["phases_dir"] = str(REPO / "phases")
    path = tmp_path / "snailtrail.yaml"
    path.write_text(yaml.safe_dump(document))
    for name in ("service", "images"):
        (tmp_path / name).symlink_to(REPO / name)
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the repository's configuration and phases, to edit."""
    (tmp_path / "phases").mkdir()
    for manifest in (REPO / "phases").glob("*.yaml"):
        (tmp_path / "phases" / manifest.name).write_text(manifest.read_text())
    path = tmp_path / "snailtrail.yaml"
    path.write_text((REPO / "snailtrail.yaml").read_text())
    return path


def edit(path: Path, change: Callable[[Any], None]) -> None:
    document = yaml.safe_load(path.read_text())
    change(document)
    path.write_text(yaml.safe_dump(document))


class Account:
    """An empty moto account with what is done by hand (the certificate, the hosted zone), and the CLI."""

    def __init__(self, config: Path, capsys: Any, calls: Counter[str]) -> None:
        self.config = config
        self.capsys = capsys
        self.calls = calls

    def run(self, *args: str) -> CliResult:
        from snailtrail.cli import run

        self.capsys.readouterr()
        self.calls.clear()
        code = run(["--config", str(self.config), *args])
        out, err = self.capsys.readouterr()
        return CliResult(code, out, err)

    def edit(self, **environment: Any) -> None:
        document = yaml.safe_load(self.config.read_text())
        document["environments"]["unit"].update(environment)
        self.config.write_text(yaml.safe_dump(document))


@pytest.fixture
def account(tmp_path: Path, aws_env: None, capsys: Any, record_api_calls: Counter[str]) -> Iterator[Account]:
    """An empty account (`snailtrail infra up` builds it), its environment configured as docs/production.md says."""
    import boto3
    from moto import mock_aws

    from snailtrail.sandbox.certificate import self_signed

    with mock_aws():
        certificate, key = self_signed("shine.example.com")
        arn = boto3.client("acm", region_name="us-east-1").import_certificate(Certificate=certificate, PrivateKey=key)
        boto3.client("route53", region_name="us-east-1").create_hosted_zone(Name="example.com", CallerReference="t")
        config = write_config(
            tmp_path,
            "https://shine.example.com",
            8443,
            account_id="123456789012",
            model_bucket="shine-models-123456789012",
            task_role_arn="arn:aws:iam::123456789012:role/shine-task",
            load_balancer_role_arn="arn:aws:iam::123456789012:role/shine-ecs-load-balancers",
            traffic={"listener_port": 443},
            domain={"name": "shine.example.com", "hosted_zone": "example.com"},
            infra={"certificate_arn": arn["CertificateArn"]},
        )
        yield Account(config, capsys, record_api_calls)
