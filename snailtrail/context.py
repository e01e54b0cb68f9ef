"""Everything one command run shares: settings, AWS clients and APIs, the trail, the reporter."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from snailtrail.aws.cloudwatch import MetricsTiming, metrics_timing
from snailtrail.config.aws_rules import require_environment, require_phases
from snailtrail.config.phases import Phase, load_phases, select_phase
from snailtrail.config.settings import EnvironmentKind, Settings
from snailtrail.errors import ConfigError
from snailtrail.plan.taskdef import validate_containers
from snailtrail.ui import Reporter

if TYPE_CHECKING:
    from snailtrail.aws.ec2 import Ec2Api
    from snailtrail.aws.ecs import EcsApi
    from snailtrail.aws.elbv2 import Elbv2Api
    from snailtrail.aws.session import AccessKey, AwsClients
    from snailtrail.plan.taskdef import RevisionHistory
    from snailtrail.state.lock import DeployLock
    from snailtrail.state.trail import Trail


@dataclass(frozen=True)
class Endpoints:
    """Where the environment answers: AWS API, public URL, image registry."""

    aws: str | None
    public_url: str | None
    registry: str | None
    dns_server: str | None = None
    test_url: str | None = None
    sandbox_key: AccessKey | None = None  # the credentials a sandbox's AWS API accepts
    # What the sandbox gives its tasks (its AWS API and stand-in credentials): smoke gives its containers the same.
    task_environment: dict[str, str] = field(default_factory=dict)
    # The sandbox's certificate, the one extra trust anchor of its HTTPS calls; None: the system's trust store.
    ca_file: str | None = None


class Context:
    def __init__(self, settings: Settings, reporter: Reporter, endpoints: Endpoints | None = None) -> None:
        self.settings = settings
        self.reporter = reporter
        env = settings.environment
        require_environment(settings)
        self.endpoints = endpoints or Endpoints(env.endpoint_url, env.public_url, None, env.dns_server)
        # The deploy lock while this run holds it (holding_lock): a change made after it was lost stops.
        self.held_lock: DeployLock | None = None

    @property
    def default_poll_interval_s(self) -> float:
        """How often to ask ECS during a rollout: the sandbox answers in milliseconds."""
        return 1.0 if self.settings.environment.kind is EnvironmentKind.sandbox else 5.0

    @property
    def metrics_timing(self) -> MetricsTiming:
        """The load balancer's metric period and publication delay: an ALB's per minute, the sandbox's per second."""
        return metrics_timing(self.settings.environment)

    @cached_property
    def phases(self) -> list[Phase]:
        phases = load_phases(self.settings.phases_path)
        require_phases(self.settings, phases)
        for phase in phases:
            validate_containers(self.settings, phase)
        return phases

    def phase(self, wanted: str) -> Phase:
        return select_phase(self.phases, wanted)

    def phase_or_none(self, name: str | None) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)

    @property
    def aws_reachable(self) -> bool:
        """False for a sandbox environment whose sandbox is not running: never fall through to AWS."""
        return self.settings.environment.kind is EnvironmentKind.aws or self.endpoints.aws is not None

    def require_aws(self) -> None:
        """Refuse (exit 2) when the environment's AWS API is a sandbox that is not running: nothing starts it but
        `sandbox up` and `deploy`."""
        if not self.aws_reachable:
            raise ConfigError(
                f"the sandbox of environment {self.settings.environment_name} is not running",
                fix="start it: snailtrail sandbox up (or `snailtrail deploy PHASE`, which starts it)",
            )

    @cached_property
    def clients(self) -> AwsClients:
        from snailtrail.aws.session import AwsClients

        self.require_aws()
        return AwsClients(
            self.settings.environment, endpoint_url=self.endpoints.aws, sandbox_key=self.endpoints.sandbox_key
        )

    @cached_property
    def ecs(self) -> EcsApi:
        from snailtrail.aws.ecs import EcsApi

        return EcsApi(self.clients, self.settings.service.cluster)

    @cached_property
    def elbv2(self) -> Elbv2Api:
        from snailtrail.aws.elbv2 import Elbv2Api

        return Elbv2Api(self.clients)

    @cached_property
    def ec2(self) -> Ec2Api:
        from snailtrail.aws.ec2 import Ec2Api

        def service_vpc() -> str | None:
            """Name tags repeat across VPCs: the service's are in its load balancer's."""
            balancer = self.elbv2.load_balancer(self.settings.service.load_balancer.name)
            return balancer["VpcId"] if balancer else None

        return Ec2Api(self.clients, service_vpc)

    @cached_property
    def live_service(self) -> dict[str, Any] | None:
        """The one service as ECS describes it (None: it does not exist)."""
        return self.ecs.describe_service(self.settings.service.name)

    def refresh_live_service(self) -> dict[str, Any] | None:
        """Read the service again: after this run changed it."""
        self.__dict__.pop("live_service", None)
        return self.live_service

    def refresh_history(self) -> None:
        """Read the revisions again on next use: a deploy may have registered or verified one since."""
        self.__dict__.pop("history", None)

    @cached_property
    def history(self) -> RevisionHistory:
        from snailtrail.plan.taskdef import RevisionHistory

        return RevisionHistory(
            self.ecs, self.settings.service.task_family, self.clients.client("resourcegroupstaggingapi")
        )

    @cached_property
    def trail(self) -> Trail:
        from snailtrail.state.trail import Trail

        trail = Trail(
            self.clients if self.aws_reachable else None,
            self.settings.environment.state_table,
            self.settings.environment_name,
            self.settings.service.name,
            self.settings.state_dir,
            warn=self.reporter.warn,
        )
        if self.settings.environment.notifications is not None:
            from snailtrail.state.notifications import Notifier

            trail.observers.append(Notifier(self.settings, trail, self.reporter))
        return trail

    @cached_property
    def lock(self) -> DeployLock:
        from snailtrail.state.lock import DeployLock

        return DeployLock(
            self.clients,
            self.settings.environment.state_table,
            self.settings.environment_name,
            self.settings.service.name,
        )

    @contextmanager
    def holding_lock(self, command: str) -> Iterator[None]:
        """Hold the deploy lock for the block (renewed in the background), as ``held_lock``.

        Holding it, no other run is live: a run the trail still shows unfinished was killed, and is
        closed as interrupted first. The credentials' account is checked before, as every change is made
        under the lock."""
        from snailtrail.infra.account_guard import require_account
        from snailtrail.state.run_trail import close_killed_runs

        require_account(self)

        with self.lock.held(command, self.reporter.warn):
            self.held_lock = self.lock
            for run in close_killed_runs(self.trail, command):
                self.reporter.warn(f"the trail's {run.command} run {run.run_id} never finished: closed as interrupted")
            try:
                yield
            finally:
                self.held_lock = None

    def public_url(self) -> str:
        if self.endpoints.public_url:
            return self.endpoints.public_url
        domain = self.settings.domain
        if domain is not None and self.settings.environment.kind is EnvironmentKind.aws:
            return f"https://{domain.name}"
        raise ConfigError(
            f"environment {self.settings.environment_name} has no public_url",
            fix="set environments.<name>.public_url (or the environment's domain) in snailtrail.yaml",
        )

    def test_url(self) -> str:
        """Where the test listener answers: the sandbox's own front door, else the public host on its port."""
        if self.endpoints.test_url:
            return self.endpoints.test_url
        port = self.settings.service.load_balancer.test_listener_port
        if port is None:
            raise ConfigError("no test listener is configured", fix="set service.load_balancer.test_listener_port")
        if self.settings.environment.test_url:
            return self.settings.environment.test_url
        from urllib.parse import urlsplit

        # The load balancer's own name for it (the environment's own domain, which its stack aliases to the load
        # balancer), not the public URL's host, which may be a CDN (CloudFront) that serves no test port; the
        # scheme is the public URL's (HTTPS in production).
        public = urlsplit(self.public_url())
        domain = self.settings.environment.domain
        host = domain.name if domain is not None else public.hostname
        return f"{public.scheme}://{host}:{port}"
