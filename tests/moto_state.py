"""Copies of in-process moto's whole state: taken once, put back as often as wanted.

Provisioning the unit sandbox (VPC, ALB, target groups, role, log group, state table...) is 45 API
calls, and moto builds each service's backend anew (EC2's with its default VPC and images) on
every reset; a copy put back costs a fraction of either. ``discard`` drops the backends where moto's
own reset would first rebuild every one of them only to drop it. Test set-up, not the product's: the
tests use it to start each test from the provisioned state (tests/conftest.py).
"""

from __future__ import annotations

import copy
import copyreg
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from moto.core.base_backend import BackendDict, backend_lock

# Region backends by account, for each of moto's services (BackendDict) that holds any.
_Backends = list[tuple[BackendDict[Any], dict[str, dict[str, Any]]]]
_LOCK_FACTORIES = {type(threading.Lock()): threading.Lock, type(threading.RLock()): threading.RLock}


@dataclass(frozen=True)
class MotoState:
    """Every region backend of every service in use, as they were when taken."""

    backends: _Backends


def snapshot() -> MotoState:
    """A copy of every backend in use now, which later changes leave as it is."""
    with backend_lock:
        current = [
            (services, {account: dict(regions) for account, regions in services.items()})
            for services in BackendDict._instances
        ]
    return MotoState(_copied(current))


def restore(state: MotoState) -> None:
    """moto holds a fresh copy of ``state`` and nothing else (the copy stays as it was, to restore again)."""
    discard()
    for services, accounts in _copied(state.backends):
        for account, regions in accounts.items():
            for region, backend in regions.items():
                services[account][region] = backend  # indexing an account registers the service as in use
                # S3's names are global: moto keeps which account holds each bucket beside its backends.
                for name in getattr(backend, "buckets", {}) if hasattr(services, "bucket_accounts") else ():
                    services.bucket_accounts[name] = (backend.partition, account)


def discard() -> None:
    """Forget every backend, as moto's reset does, without building each anew first.

    The account-level dicts are emptied too: moto keeps the last 128 of them alive (an lru_cache on
    one of their methods), and each would otherwise hold its region backends, all of EC2's defaults
    included, for the garbage collector to walk through on every full collection."""
    with backend_lock:
        for services in BackendDict._instances:
            for regions in services.values():
                regions.clear()
            services.clear()
            getattr(services, "bucket_accounts", {}).clear()
        BackendDict._instances.clear()


def _copied(backends: _Backends) -> _Backends:
    """A deep copy of the backends in one pass, so references between them (a target group's VPC, a
    task's cluster) point into the copy; the service registries themselves are the same objects."""
    memo: dict[int, Any] = {id(services): services for services, _ in backends}
    with _locks_copied_as_new():
        copies = copy.deepcopy([accounts for _, accounts in backends], memo)
    return [(services, accounts) for (services, _), accounts in zip(backends, copies, strict=True)]


@contextmanager
def _locks_copied_as_new() -> Iterator[None]:
    """A lock cannot be copied (some backends hold one, as ECR's registry settings do): the copy gets
    a new, unlocked one, as a new backend would."""
    saved = {kind: copyreg.dispatch_table.get(kind) for kind in _LOCK_FACTORIES}
    for kind, factory in _LOCK_FACTORIES.items():
        copyreg.pickle(kind, lambda _lock, factory=factory: (factory, ()))
    try:
        yield
    finally:
        for kind, reducer in saved.items():
            if reducer is None:
                copyreg.dispatch_table.pop(kind, None)
            else:
                copyreg.dispatch_table[kind] = reducer
