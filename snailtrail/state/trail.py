"""The durable rollout trail: events written as they happen, rendered on demand.

DynamoDB is the source of truth, so CI and two operators see the same trail; the local
``.snailtrail/trail-ENV.jsonl`` is a cache that also keeps events when the table is unreachable.
"""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.redaction import redact, redact_value

# A trail event's task definition names its revision: rollback targets are chosen by it.
TASK_DEFINITION_ARN = re.compile(r"^arn:aws[a-z-]*:ecs:[a-z0-9-]+:\d{12}:task-definition/[A-Za-z0-9_-]{1,255}:\d+$")
TEXT_FIELDS = ("run_id", "phase", "detail", "actor", "environment")


def event_problem(record: Any) -> str | None:
    """Why a stored event cannot be read (a hand edit, a bug, someone else's write), or None.

    Every reader (trail, status, rollback and its list, planning) relies on what this checks.
    """
    if not isinstance(record, dict):
        return f"not a map but {type(record).__name__}"
    if not isinstance(record.get("kind"), str) or not record["kind"]:
        return "no kind"
    if not isinstance(record.get("at"), str):
        return "no time (at)"
    try:
        datetime.fromisoformat(record["at"])
    except ValueError:
        return "a time (at) that is not ISO 8601"
    for name in TEXT_FIELDS:
        if record.get(name) is not None and not isinstance(record[name], str):
            return f"{name} is not text"
    arn = record.get("task_definition")
    if arn is not None and not (isinstance(arn, str) and TASK_DEFINITION_ARN.match(arn)):
        return "task_definition is not a task-definition ARN with its revision"
    if record.get("ok") is not None and not isinstance(record["ok"], bool):
        return "ok is not true or false"
    duration = record.get("duration_s")
    if duration is not None and (isinstance(duration, bool) or not isinstance(duration, int | float)):
        return "duration_s is not a number"
    data = record.get("data", {})
    if not isinstance(data, dict):
        return "data is not a map"
    if data.get("step") is not None and not isinstance(data["step"], str):
        return "data.step is not text"
    tasks = data.get("tasks", [])
    if not isinstance(tasks, list) or not all(
        isinstance(task, dict)
        and isinstance(task.get("task"), str)
        and isinstance(task.get("logs", {}), dict)
        and all(isinstance(lines, list) for lines in task.get("logs", {}).values())
        for task in tasks
    ):
        return "data.tasks is not a list of tasks with their log lines"
    return None


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def current_actor() -> str:
    if os.environ.get("SNAILTRAIL_ACTOR"):
        return os.environ["SNAILTRAIL_ACTOR"]
    if os.environ.get("CI"):
        return f"ci@{socket.gethostname()}"
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


@dataclass
class Event:
    kind: str
    run_id: str
    phase: str | None = None
    detail: str = ""
    at: str = field(default_factory=now_iso)
    actor: str = field(default_factory=current_actor)
    environment: str = ""
    task_definition: str | None = None
    duration_s: float | None = None
    ok: bool | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v not in (None, {}, "")} | {"at": self.at, "kind": self.kind}


class Trail:
    """Appends events to DynamoDB and the local cache; reads them back in order."""

    def __init__(
        self,
        clients: AwsClients | None,
        table: str,
        environment: str,
        service: str,
        cache_dir: Path,
        warn: Callable[[str], None] | None = None,
    ) -> None:
        self._clients = clients
        self._table = table
        self._environment = environment
        self._key = f"trail#{environment}#{service}"
        self._cache = cache_dir / f"trail-{environment}.jsonl"
        self._lock = threading.Lock()
        self._seq = 0
        self.remote_error: str | None = None
        self._warn = warn
        self._skipped: set[str] = set()  # the unreadable events already warned of
        # Told of every event once it is written (notifications.py's webhooks), outside the write lock
        # so that one may emit an event of its own.
        self.observers: list[Callable[[Event], None]] = []
        self._held: list[Event] | None = None  # events written, observers not yet told (observers_held)

    def new_run_id(self) -> str:
        return uuid.uuid4().hex[:12]

    def emit(self, event: Event) -> Event:
        # Redacted once, here: the table, the cache and every observer (the webhooks) get the same event.
        event = replace(
            event, environment=self._environment, detail=redact(event.detail), data=redact_value(event.data)
        )
        record = event.to_json()
        with self._lock:
            self._seq += 1
            sort_key = f"{event.at}#{event.run_id}#{self._seq:06d}"
            self._cache.parent.mkdir(parents=True, exist_ok=True)
            with self._cache.open("a", encoding="utf-8") as out:
                out.write(json.dumps(record | {"sk": sort_key}, sort_keys=True) + "\n")
            if self._clients is not None and self.remote_error is None:
                try:
                    self._clients.client("dynamodb").put_item(
                        TableName=self._table,
                        Item={
                            "pk": {"S": self._key},
                            "sk": {"S": sort_key},
                            "event": {"S": json.dumps(record, sort_keys=True)},
                        },
                        # Appended, never rewritten: an event once written stays as it was.
                        ConditionExpression="attribute_not_exists(sk)",
                    )
                except (ClientError, BotoCoreError) as exc:
                    # The deploy must go on; the local cache keeps the event and status says so.
                    self.remote_error = f"trail table {self._table} not written: {exc}"
        if self._held is not None:
            self._held.append(event)
        else:
            self._tell(event)
        return event

    def _tell(self, event: Event) -> None:
        """Every observer, each isolated: a side channel that fails, however, is recorded and costs nothing else."""
        for observer in self.observers:
            try:
                observer(event)
            except Exception as exc:  # noqa: BLE001 - a webhook's fault must never reach the deploy or its rollback
                if event.kind == "notification.failed":
                    continue  # never a loop of failures about failures
                self.emit(
                    Event(
                        kind="notification.failed",
                        run_id=event.run_id,
                        phase=event.phase,
                        detail=f"an observer of the trail failed on {event.kind} ({type(exc).__name__})",
                        ok=False,
                        data={"event": event.kind, "error": type(exc).__name__},
                    )
                )

    @contextmanager
    def observers_held(self) -> Iterator[None]:
        """Events are written at once, observers told after the block: a rollback never waits on a webhook."""
        if self._held is not None:  # already held by an enclosing block, which tells them
            yield
            return
        self._held = []
        try:
            yield
        finally:
            held, self._held = self._held, None
            for event in held:
                self._tell(event)

    def events(self) -> list[dict[str, Any]]:
        """The table's events merged with the local cache, in order.

        The cache fills what the table lacks: events written while it was unreachable, and a
        sandbox's history after its in-memory control plane was restarted.
        """
        by_key = self._cached_events()
        if self._clients is not None:
            try:
                by_key.update(self._remote_events())
            except (ClientError, BotoCoreError) as exc:
                self.remote_error = f"trail table {self._table} not read: {exc}"
        # Redacted on read too: events written before redaction existed, or by another writer.
        return [redact_value(by_key[key]) for key in sorted(by_key) if self._readable(key, by_key[key])]

    def _readable(self, key: str, record: Any) -> bool:
        """A bad event is skipped with a warning (once): it never blocks a rollback or the trail."""
        problem = event_problem(record)
        if problem is not None and key not in self._skipped:
            self._skipped.add(key)
            if self._warn is not None:
                self._warn(f"trail event {key[:80]} skipped: {problem}")
        return problem is None

    def _remote_events(self) -> dict[str, dict[str, Any]]:
        client = self._clients.client("dynamodb")  # type: ignore[union-attr]
        items: dict[str, dict[str, Any]] = {}
        for page in client.get_paginator("query").paginate(
            TableName=self._table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": self._key}},
        ):
            for item in page["Items"]:
                key = str(attribute_content(item.get("sk")))
                try:
                    items[key] = json.loads(attribute_content(item.get("event")))
                except (TypeError, ValueError):
                    items[key] = None  # unreadable: skipped with a warning by events()
        return items

    def _cached_events(self) -> dict[str, dict[str, Any]]:
        if not self._cache.exists():
            return {}
        events = {}
        for line in self._cache.read_text(encoding="utf-8").splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut by a crash mid-write; the rest of the cache still reads
            if isinstance(record, dict):
                events[str(record.pop("sk", record.get("at", "")))] = record
            else:
                events[line[:80]] = record
        return events


def attribute_content(value: Any) -> Any:
    """A DynamoDB attribute's content ({"S": "x"} -> "x"), or None when it is not one."""
    return next(iter(value.values()), None) if isinstance(value, dict) and len(value) == 1 else None
