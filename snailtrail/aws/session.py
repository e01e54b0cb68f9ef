"""boto3 clients for one environment, shared by a run, with adaptive retries and a call log."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, ClassVar

import boto3
from botocore.config import Config

from snailtrail.config import EnvironmentConfig, EnvironmentKind

READ_ONLY_PREFIXES = ("Describe", "List", "Get", "BatchGet", "Query", "Scan", "Head")


def is_mutating(operation: str) -> bool:
    return not operation.startswith(READ_ONLY_PREFIXES)


@dataclass
class AwsClients:
    """Creates each client once; counts every API call by ``service.Operation``."""

    environment: EnvironmentConfig
    endpoint_url: str | None = None
    calls: Counter[str] = field(default_factory=Counter)
    # Counters that see every call of every run's clients: benchmarks and tests count across runs.
    observers: ClassVar[list[Counter[str]]] = []
    _clients: dict[str, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        credentials: dict[str, str] = {}
        if self.environment.kind is EnvironmentKind.sandbox:
            # The sandbox is moto: any credentials do, and real ones must never be sent to it.
            credentials = {"aws_access_key_id": "sandbox", "aws_secret_access_key": "sandbox"}
        self._session = boto3.session.Session(
            profile_name=self.environment.profile if self.environment.kind is EnvironmentKind.aws else None,
            region_name=self.environment.region,
            **credentials,
        )
        self._config = Config(retries={"mode": "adaptive", "max_attempts": 8}, connect_timeout=5, read_timeout=30)
        self._session.events.register("before-call", self._record)

    def _record(self, model: Any, **_: Any) -> None:
        name = f"{model.service_model.service_name}.{model.name}"
        with self._lock:
            self.calls[name] += 1
            for observer in self.observers:
                observer[name] += 1

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._session.client(
                    service, endpoint_url=self.endpoint_url or self.environment.endpoint_url, config=self._config
                )
            return self._clients[service]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def mutating_calls(self) -> list[str]:
        return sorted(name for name in self.calls if is_mutating(name.split(".", 1)[1]))
