"""``python -m shine.migrations``: the service's schema migrations, run as a deploy's before_deploy task.

    python -m shine.migrations migrate --to N   # apply the up (or down) steps between the recorded version and N
    python -m shine.migrations status           # print the recorded version

shine keeps no database, so its "schema" is the layout of what it stores beside its models: a state
object in the model bucket (SHINE_MODEL_BUCKET, key SHINE_SCHEMA_KEY, default ``shine/schema.json``)
records the version the last migration left and every step applied. A migration is idempotent: run
again at the version it targets, it changes nothing and says so. Each write is conditional on the
object it read (S3's If-Match / If-None-Match), so two migrations racing cannot both win: the loser
exits 1 and changes nothing. Exit codes: 0 done, 1 failed (nothing written), 2 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shine.config import Settings
from shine.models import s3_client

DEFAULT_KEY = "shine/schema.json"


@dataclass(frozen=True)
class Migration:
    """One step of the schema: ``version`` is what it leaves when applied up; down leaves ``version - 1``."""

    version: int
    name: str


# The schema's history, oldest first. A new step is appended; a released one never changes.
MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "analysis results record the analyzer's model versions"),
    Migration(2, "analysis results record the uploaded image's digest"),
)
LATEST = MIGRATIONS[-1].version


class MigrationError(Exception):
    """The migration cannot run; nothing was written."""


@dataclass
class SchemaState:
    """The state object as read: its version, the steps applied, and the ETag the next write is conditional on."""

    version: int
    applied: list[dict[str, Any]]
    etag: str | None  # None: no state object yet (schema 0)


def read_state(client: Any, bucket: str, key: str) -> SchemaState:
    try:
        answer = client.get_object(Bucket=bucket, Key=key)
    except client.exceptions.NoSuchKey:
        return SchemaState(0, [], None)
    document = json.loads(answer["Body"].read())
    return SchemaState(int(document["version"]), list(document.get("applied", [])), answer["ETag"])


def plan(current: int, target: int) -> list[tuple[Migration, str]]:
    """The steps from ``current`` to ``target``, in order, each with its direction ("up" or "down")."""
    if not 0 <= target <= LATEST:
        raise MigrationError(f"--to {target}: the schema's versions are 0 to {LATEST}")
    if current > LATEST:
        raise MigrationError(
            f"the bucket's schema is version {current}, newer than this code knows ({LATEST}): "
            "migrate with the revision that left it"
        )
    if target >= current:
        return [(m, "up") for m in MIGRATIONS if current < m.version <= target]
    return [(m, "down") for m in reversed(MIGRATIONS) if target < m.version <= current]


def migrate(client: Any, bucket: str, key: str, target: int) -> list[str]:
    """Bring the bucket's schema to ``target``; returns what it did, one line each (nothing to do: one line)."""
    state = read_state(client, bucket, key)
    steps = plan(state.version, target)
    if not steps:
        return [f"schema already at version {target}: nothing to do"]
    now = datetime.now(UTC).isoformat(timespec="seconds")
    lines = []
    for migration, direction in steps:
        state.applied.append({"version": migration.version, "name": migration.name, "direction": direction, "at": now})
        lines.append(f"{direction} {migration.version}: {migration.name}")
    body = json.dumps({"version": target, "applied": state.applied}, indent=2).encode()
    condition = {"IfMatch": state.etag} if state.etag else {"IfNoneMatch": "*"}
    try:
        client.put_object(Bucket=bucket, Key=key, Body=body, ContentType="application/json", **condition)
    except client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("PreconditionFailed", "ConditionalRequestConflict"):
            raise MigrationError(
                f"s3://{bucket}/{key} changed while migrating (another migration ran): nothing written; run again"
            ) from exc
        raise
    lines.append(f"schema now at version {target} (s3://{bucket}/{key}, was {state.version})")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shine.migrations")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("migrate", help="bring the schema to a version (up or down)")
    up.add_argument("--to", type=int, default=LATEST, help=f"the version to leave (default: {LATEST}, the latest)")
    sub.add_parser("status", help="print the recorded schema version")
    args = parser.parse_args(argv)
    if args.command == "migrate" and not 0 <= args.to <= LATEST:
        parser.error(f"--to {args.to}: the schema's versions are 0 to {LATEST}")

    settings = Settings.from_env()
    key = os.environ.get("SHINE_SCHEMA_KEY", DEFAULT_KEY).strip() or DEFAULT_KEY
    if not settings.model_bucket:
        parser.error("no bucket: set SHINE_MODEL_BUCKET")
    client = s3_client(settings)
    try:
        if args.command == "status":
            print(f"schema at version {read_state(client, settings.model_bucket, key).version}")
            return 0
        for line in migrate(client, settings.model_bucket, key, args.to):
            print(line, flush=True)
    except MigrationError as exc:
        print(f"shine.migrations: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
