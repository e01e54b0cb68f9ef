"""boto3 clients for one environment, shared by a run, with adaptive retries and a call log.

Credentials for an aws environment follow the AWS standard chain: credentials or a profile named in
the process environment (AWS_ACCESS_KEY_ID, AWS_PROFILE, a GitHub Actions OIDC web identity) beat
the profile the configuration names, which is only a default. The region is the configuration's,
else AWS_REGION / AWS_DEFAULT_REGION, else the profile's. An endpoint is used only when the
configuration names one for the environment: a stray AWS_ENDPOINT_URL must never send an aws
environment's credentials to an emulator.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
from botocore.config import Config

from snailtrail.config.settings import EnvironmentConfig, EnvironmentKind
from snailtrail.errors import ConfigError

READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan", "Head")
# What makes botocore's chain find credentials before any profile: environment keys, a named
# profile, a web identity (GitHub Actions OIDC), the ECS/EKS container credential endpoints.
# https://docs.aws.amazon.com/sdkref/latest/guide/standardized-credentials.html
AMBIENT_CREDENTIALS = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


# The chain's last links: an EC2 instance profile (IMDS) and an ECS task's or EKS pod's role. Neither is
# named in the environment's variables: an EC2 CI runner has them and no AWS config files at all.
MACHINE_ROLE_METHODS = ("iam-role", "container-role")


def chosen_profile(environment: EnvironmentConfig) -> str | None:
    """The configured profile, unless the process environment already supplies credentials, or the profile
    is not on this machine and the machine has a role of its own (instance profile, task role)."""
    if environment.kind is not EnvironmentKind.aws:
        return None
    if any(os.environ.get(name) for name in AMBIENT_CREDENTIALS):
        return None
    if environment.profile and _machine_role_instead(environment.profile):
        return None
    return environment.profile


def _machine_role_instead(profile: str) -> bool:
    import botocore.session

    session = botocore.session.Session()
    if profile in session.available_profiles:
        return False
    # Asked only when the profile is missing (otherwise an error): IMDS answers within botocore's 1 s timeout.
    credentials = session.get_credentials()
    return credentials is not None and credentials.method in MACHINE_ROLE_METHODS


def _profile_not_found(profile: str | None, exc: Exception) -> ConfigError:
    return ConfigError(
        f"the environment's profile {profile!r} is not in the AWS config files ({exc})",
        fix=f"create it (aws configure sso --profile {profile}), remove `profile:` from the environment, "
        "export credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE), or run where an instance "
        "profile or task role supplies them",
    )


def resolved_region(environment: EnvironmentConfig) -> str:
    """The configuration's region, else AWS_REGION / AWS_DEFAULT_REGION, else the profile's."""
    if environment.region:  # always set in a sandbox environment (config/settings.py)
        return environment.region
    # AWS_REGION is the SDKs' standard variable, which botocore does not read itself.
    # https://docs.aws.amazon.com/sdkref/latest/guide/feature-region.html
    if os.environ.get("AWS_REGION"):
        return os.environ["AWS_REGION"]
    import botocore.session
    from botocore.exceptions import ProfileNotFound

    profile = chosen_profile(environment)
    try:
        region = botocore.session.Session(profile=profile).get_config_variable("region")
    except ProfileNotFound as exc:
        raise _profile_not_found(profile, exc) from exc
    if not region:
        raise ConfigError(
            "no AWS region for this environment",
            fix="set environments.<name>.region in snailtrail.yaml, or export AWS_REGION",
        )
    return str(region)


def partition_of(region: str) -> str:
    """The ARN partition of a region (aws, aws-cn, aws-us-gov), from botocore's endpoint data."""
    found = boto3.session.Session().get_partition_for_region(region)
    return str(found)


@dataclass(frozen=True)
class AccessKey:
    """Static credentials: the sandbox's own key, the only one its AWS API accepts (sandbox/moto_server.py)."""

    access_key_id: str
    secret_access_key: str

    def environment(self) -> dict[str, str]:
        """The variables the AWS SDKs read them from (seed commands, tasks)."""
        return {"AWS_ACCESS_KEY_ID": self.access_key_id, "AWS_SECRET_ACCESS_KEY": self.secret_access_key}


@dataclass
class AwsClients:
    """Creates each client once; counts every API call by ``service.Operation``."""

    environment: EnvironmentConfig
    endpoint_url: str | None = None
    # A sandbox's key; never the credential chain's, whose real credentials must never reach a sandbox.
    sandbox_key: AccessKey | None = None
    calls: Counter[str] = field(default_factory=Counter)
    # Counters that see every call of every run's clients: benchmarks and tests count across runs.
    observers: ClassVar[list[Counter[str]]] = []
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        from botocore.exceptions import ProfileNotFound

        environment = self.environment
        credentials: dict[str, str] = {}
        if environment.kind is EnvironmentKind.sandbox:
            # Its own key (none: the sandbox is not running, and refuses whatever is sent); never real credentials.
            key = self.sandbox_key or AccessKey("none", "none")
            credentials = {"aws_access_key_id": key.access_key_id, "aws_secret_access_key": key.secret_access_key}
        profile = chosen_profile(environment)
        try:
            self._session = boto3.session.Session(
                profile_name=profile, region_name=resolved_region(environment), **credentials
            )
        except ProfileNotFound as exc:
            raise _profile_not_found(profile, exc) from exc
        # Only the configuration names an endpoint: AWS_ENDPOINT_URL and endpoint_url in the shared
        # config are ignored, so an aws environment never talks to whatever they point at.
        # https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": 8},
            connect_timeout=5,
            read_timeout=30,
            ignore_configured_endpoint_urls=True,
        )
        self._session.events.register("before-call", self._record)

    @property
    def region(self) -> str:
        return str(self._session.region_name)

    def session_credentials(self) -> Any:
        """The session's credentials, frozen (access_key, secret_key, token), or None when it found none."""
        found = self._session.get_credentials()
        return found.get_frozen_credentials() if found is not None else None

    def _record(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self._lock:
            self.calls[name] += 1
            for observer in self.observers:
                observer[name] += 1

    def client(self, service: str, region: str | None = None) -> Any:
        """The service's client in the environment's region, or in ``region`` (an ECR image kept elsewhere)."""
        key = service if region in (None, self.region) else f"{service}@{region}"
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._session.client(
                    service,
                    region_name=region,
                    endpoint_url=self.endpoint_url or self.environment.endpoint_url,
                    config=self._config,
                )
            return self._clients[key]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def mutating_calls(self) -> list[str]:
        return sorted(name for name in self.calls if is_mutating(name.split(".", 1)[1]))
