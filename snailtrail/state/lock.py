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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.errors import ConfigError, LockHeld
from snailtrail.state.trail import attribute_content, current_actor, now_iso

LEASE_S = 300
RENEW_EVERY_S = 60
RETRY_EVERY_S = 5  # a renewal that failed for another reason than a lost lock (throttling) is tried again soon
WATCH_EVERY_S = 5  # how often a takeover reads the record it waits on
# What makes a lock record the same record: a holder's renewal changes its version and expiry.
IDENTITY = ("token", "version", "expires_at")
SHOWN = ("owner", "host", "pid", "command", "since")
LOST = "ConditionalCheckFailedException"


def read_holder(item: dict[str, Any]) -> dict[str, Any]:
    """The holder a lock record names; a record without a token or a readable expiry is ``malformed``.

    ``expired`` is the holder's own claim read with this host's clock: a hint for what to say, never
    the reason to take a lock (``DeployLock.acquire``).
    """
    holder: dict[str, Any] = dict.fromkeys(SHOWN, "?")
    holder |= {k: attribute_content(v) for k, v in item.items() if k in SHOWN}
    problems = [] if isinstance(attribute_content(item.get("token")), str) else ["no token"]
    try:
        expires_at: float | None = float(attribute_content(item["expires_at"]))
    except (KeyError, TypeError, ValueError):
        expires_at = None
        problems.append("no readable expires_at")
    holder["expires_at"] = expires_at
    holder["expired"] = expires_at is None or expires_at < time.time()
    holder["malformed"] = ", ".join(problems) or None
    return holder


def unchanged(item: dict[str, Any]) -> dict[str, Any]:
    """A write's condition that the lock record is still ``item``: same token, version and expiry, or as absent."""
    names = {f"#f{index}": name for index, name in enumerate(IDENTITY)}
    values = {f":f{index}": item[name] for index, name in enumerate(IDENTITY) if name in item}
    same = [
        f"#f{index} = :f{index}" if name in item else f"attribute_not_exists(#f{index})"
        for index, name in enumerate(IDENTITY)
    ]
    condition = {"ConditionExpression": "attribute_exists(pk) AND " + " AND ".join(same)}
    return condition | {"ExpressionAttributeNames": names} | ({"ExpressionAttributeValues": values} if values else {})


class DeployLock:
    def __init__(self, clients: AwsClients, table: str, environment: str, service: str) -> None:
        self._dynamodb = clients.client("dynamodb")
        self._table = table
        self._key = {"pk": {"S": f"lock#{environment}#{service}"}, "sk": {"S": "lock"}}
        self._token = uuid.uuid4().hex
        self.lost = threading.Event()  # set when the lease can no longer be trusted; changes must stop

    def _item(self) -> dict[str, Any] | None:
        try:
            return self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        except ClientError as exc:
            raise self._table_error(exc) from None

    def holder(self) -> dict[str, Any] | None:
        """The current holder, or None."""
        item = self._item()
        return read_holder(item) if item else None

    def _table_error(self, exc: ClientError) -> Exception:
        if exc.response["Error"]["Code"] == "ResourceNotFoundException":
            return ConfigError(
                f"the state table {self._table} does not exist (it holds the deploy lock and the trail)",
                fix="create it (pk and sk string keys, on demand); `sandbox up` does it in the sandbox",
            )
        return exc

    def _put(self, command: str, replacing: dict[str, Any] | None) -> bool:
        """Write this run's record where none is (or ours is), or only over ``replacing``, still unchanged."""
        if replacing is None:
            # "Or it is already ours": a retry whose first attempt was applied but whose answer was
            # lost must not find itself holding the lock.
            condition = {
                "ConditionExpression": "attribute_not_exists(pk) OR #token = :token",
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":token": {"S": self._token}},
            }
        else:
            condition = unchanged(replacing)
        item = self._key | {
            "token": {"S": self._token},
            "version": {"S": uuid.uuid4().hex},
            "owner": {"S": current_actor()},
            "host": {"S": socket.gethostname()},
            "pid": {"N": str(os.getpid())},
            "command": {"S": command},
            "since": {"S": now_iso()},
            "expires_at": {"N": str(time.time() + LEASE_S)},
        }
        try:
            self._dynamodb.put_item(TableName=self._table, Item=item, **condition)
        except ClientError as exc:
            if exc.response["Error"]["Code"] != LOST:
                raise self._table_error(exc) from None
            return False
        return True

    def acquire(self, command: str, say: Callable[[str], None] | None = None) -> None:
        """Take the lock, or raise LockHeld naming its holder.

        A lock that looks expired is taken over only once this host has seen the same record, unchanged,
        for a whole lease on its own monotonic clock: another host's clock (or ours) may be wrong, and a
        live holder changes its record at every renewal. A malformed record has no holder who could renew
        it: it is stale at once.
        """
        watched: dict[str, Any] | None = None
        watched_since = 0.0
        while True:
            if self._put(command, None):
                return
            item = self._item()
            if item is None:
                continue  # released meanwhile: try again
            holder = read_holder(item)
            if holder["malformed"]:
                if self._put(command, item):
                    return
                continue
            if not holder["expired"]:
                raise self._held_by(holder, "")
            if item != watched:
                if watched is not None:
                    raise self._held_by(holder, " (it renewed the lock while this run waited for it to expire)")
                watched, watched_since = item, time.monotonic()
                if say is not None:
                    say(
                        f"the lock of `{holder['command']}` ({holder['owner']} on {holder['host']}) looks expired: "
                        f"taking it over if it stays unchanged for {LEASE_S} s"
                    )
            elif time.monotonic() - watched_since >= LEASE_S:
                if self._put(command, item):
                    return
                watched = None
                continue
            time.sleep(WATCH_EVERY_S)

    @staticmethod
    def _held_by(holder: dict[str, Any], why: str) -> LockHeld:
        return LockHeld(
            f"another deploy holds the lock: {holder['owner']} on {holder['host']} "
            f"(pid {holder['pid']}) running `{holder['command']}` since {holder['since']}{why}",
            fix="wait for it to finish; if its holder is gone, `snailtrail unlock --force`",
        )

    def renew(self) -> bool:
        """Extend the lease: False when the lock is no longer ours; any other fault raises, to be retried."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET expires_at = :expires, #version = :version",
                ConditionExpression="#token = :token",
                ExpressionAttributeNames={"#token": "token", "#version": "version"},
                ExpressionAttributeValues={
                    ":expires": {"N": str(time.time() + LEASE_S)},
                    ":version": {"S": uuid.uuid4().hex},
                    ":token": {"S": self._token},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == LOST:
                return False
            raise
        return True

    def confirm(self) -> bool:
        """Whether the table still holds this run's token, read now: every change asks before it is made.

        Only a record that names another token (or none) counts as lost; a read that fails leaves the
        answer to the renewals.
        """
        if self.lost.is_set():
            return False
        try:
            item = self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        except (ClientError, BotoCoreError):
            return True
        if attribute_content((item or {}).get("token")) != self._token:
            self.lost.set()
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
        """Remove the lock whose holder is printed, malformed or not, and no other (one taken meanwhile stays)."""
        item = self._item()
        if not item:
            return None
        # The same holder (its renewals meanwhile do not matter); a record without a token, as it was read.
        condition = (
            {
                "ConditionExpression": "#token = :token",
                "ExpressionAttributeNames": {"#token": "token"},
                "ExpressionAttributeValues": {":token": item["token"]},
            }
            if "token" in item
            else unchanged(item)
        )
        self._dynamodb.delete_item(TableName=self._table, Key=self._key, **condition)
        return read_holder(item)

    @contextmanager
    def held(self, command: str, say: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold the lock for the block, renewing it in the background; released on every exit path."""
        self.acquire(command, say)
        stop = threading.Event()

        def keep() -> None:
            last_renewed = time.monotonic()
            renewed: bool | None = True
            # Another host takes the lock over once it has seen the record unchanged for LEASE_S; this run
            # stops trusting it after LEASE_S - RENEW_EVERY_S without a renewal, a margin before that.
            while not stop.wait(RENEW_EVERY_S if renewed else min(RETRY_EVERY_S, RENEW_EVERY_S)):
                try:
                    renewed = self.renew()
                except Exception:  # noqa: BLE001 - throttling, a passing fault: tried again soon
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
