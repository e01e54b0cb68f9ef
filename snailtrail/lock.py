"""The deploy lock: a DynamoDB conditional put with an expiry, renewed while a deploy runs.

Two operators, or CI and an operator, can never change one service at the same time; a lock whose
holder died expires (or is removed with ``unlock --force``).
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.errors import ConfigError, LockHeld
from snailtrail.trail import current_actor, now_iso

LEASE_S = 300
RENEW_EVERY_S = 60


class DeployLock:
    def __init__(self, clients: AwsClients, table: str, environment: str, service: str) -> None:
        self._dynamodb = clients.client("dynamodb")
        self._table = table
        self._key = {"pk": {"S": f"lock#{environment}#{service}"}, "sk": {"S": "lock"}}
        self._token = uuid.uuid4().hex
        self.lost = threading.Event()  # set when the lease can no longer be trusted; changes must stop

    def holder(self) -> dict[str, Any] | None:
        """The current holder, or None (an expired lock counts as free)."""
        try:
            item = self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._table_error(exc) from None
        if not item:
            return None
        holder = {k: next(iter(v.values())) for k, v in item.items() if k not in ("pk", "sk", "token")}
        holder["expires_at"] = float(holder["expires_at"])
        holder["expired"] = holder["expires_at"] < time.time()
        return holder

    def _table_error(self, exc: ClientError) -> Exception:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return ConfigError(
                f"the state table {self._table} does not exist (it holds the deploy lock and the trail)",
                fix="create it (pk and sk string keys, on demand); `sandbox up` does it in the sandbox",
            )
        return exc

    def acquire(self, command: str) -> None:
        now = time.time()
        item = self._key | {
            "token": {"S": self._token},
            "owner": {"S": current_actor()},
            "host": {"S": socket.gethostname()},
            "pid": {"N": str(os.getpid())},
            "command": {"S": command},
            "since": {"S": now_iso()},
            "expires_at": {"N": str(now + LEASE_S)},
        }
        try:
            self._dynamodb.put_item(
                TableName=self._table,
                Item=item,
                # "Or it is already ours": a retry whose first attempt was applied but whose answer was
                # lost must not find itself holding the lock.
                ConditionExpression="attribute_not_exists(pk) OR expires_at < :now OR #token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":now": {"N": str(now)}, ":token": {"S": self._token}},
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ConditionalCheckFailedException":
                raise self._table_error(exc) from None
            holder = self.holder() or {}
            raise LockHeld(
                f"another deploy holds the lock: {holder.get('owner')} on {holder.get('host')} "
                f"(pid {holder.get('pid')}) running `{holder.get('command')}` since {holder.get('since')}",
                fix="wait for it to finish; if its holder is gone, `snailtrail unlock --force`",
            ) from None

    def renew(self) -> bool:
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET expires_at = :expires",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":expires": {"N": str(time.time() + LEASE_S)}, ":token": {"S": self._token}},
            )
        except ClientError:
            return False
        return True

    def release(self) -> None:
        # A lock taken over after expiry, or removed by unlock --force, is no longer ours to release;
        # and a release that cannot reach the table must not hide the run's result: the lease expires.
        with contextlib.suppress(Exception):
            self._dynamodb.delete_item(
                TableName=self._table,
                Key=self._key,
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token"},
                ExpressionAttributeValues={":token": {"S": self._token}},
            )

    def force_remove(self) -> dict[str, Any] | None:
        """Remove the lock whose holder is printed, and no other (one taken meanwhile stays)."""
        item = self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        if not item:
            return None
        holder = self.holder()
        self._dynamodb.delete_item(
            TableName=self._table,
            Key=self._key,
            ConditionExpression="#token = :token",
            ExpressionAttributeNames={"#token": "token"},
            ExpressionAttributeValues={":token": item["token"]},
        )
        return holder

    @contextmanager
    def held(self, command: str) -> Iterator[None]:
        """Hold the lock for the block, renewing it in the background; released on every exit path."""
        self.acquire(command)
        stop = threading.Event()

        def keep() -> None:
            last_renewed = time.monotonic()
            while not stop.wait(RENEW_EVERY_S):
                try:
                    renewed = self.renew()
                except Exception:  # noqa: BLE001 - a passing fault; the next renewal tries again
                    renewed = None
                if renewed:
                    last_renewed = time.monotonic()
                # Taken over or removed (False), or too many renewals missed for the lease to hold.
                if renewed is False or time.monotonic() - last_renewed > LEASE_S - RENEW_EVERY_S:
                    self.lost.set()
                    return

        renewer = threading.Thread(target=keep, name="lock-renewal", daemon=True)
        renewer.start()
        try:
            yield
        finally:
            stop.set()
            self.release()


def process_alive(pid: int) -> bool:
    """Whether a process of this host runs under this pid (one of another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder_gone(holder: dict[str, Any]) -> bool:
    """True when the lock's holder is a process of this host that no longer runs: killed, its lease not yet
    expired. A holder on another host cannot be asked."""
    try:
        pid = int(holder.get("pid") or 0)
    except (TypeError, ValueError):
        return False
    return holder.get("host") == socket.gethostname() and pid > 0 and not process_alive(pid)
