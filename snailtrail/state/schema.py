"""The database schema the revisions run against: what the trail says the migrations left, and which
revisions can run against it.

A phase declares ``schema: {version: N, oldest_compatible: M}``: its migrations (its ``before_deploy``
tasks) leave the schema at version N, and its code runs against versions M to N. Its revisions are tagged
with both at register. The trail records each change of the schema (``schema.changed``): a phase's
``before_deploy`` tasks succeeding, a phase that declares a schema and no such tasks going live verified
(its migrations are its own, at start), or `snailtrail run --leaves-schema N` exiting 0 (a down-migration).
A rollback never chooses a revision whose range does not hold the current schema.
"""

from __future__ import annotations

from typing import Any

from snailtrail.config.phases import Phase
from snailtrail.state.run_trail import RunTrail

TAG_SCHEMA = "snailtrail:schema"  # the schema version the phase's migrations leave
TAG_OLDEST_SCHEMA = "snailtrail:schema-oldest-compatible"  # the oldest schema version the revision runs against
CHANGED = "schema.changed"


def schema_tags(phase: Phase) -> dict[str, str]:
    """The tags a revision of the phase carries: none when the phase declares no schema."""
    declared = phase.manifest.schema_
    if declared is None:
        return {}
    return {TAG_SCHEMA: str(declared.version), TAG_OLDEST_SCHEMA: str(declared.oldest_compatible)}


def current_schema(events: list[dict[str, Any]]) -> int | None:
    """The schema version the last recorded change left (None: the trail has never recorded one)."""
    changes = [e for e in events if e.get("kind") == CHANGED and e.get("ok") is not False]
    return int(changes[-1]["data"]["schema"]) if changes else None


def record_schema(run: RunTrail, phase: str | None, version: int, by: str) -> None:
    """The schema is now ``version``, changed by ``by``: one trail event."""
    run.emit(
        CHANGED,
        phase,
        f"the database schema is now version {version} ({by})",
        ok=True,
        data={"schema": version, "by": by},
    )


def schema_range(tags: dict[str, str]) -> str | None:
    """The schema versions a revision runs against, as "2-3" (None: it declares none)."""
    if TAG_SCHEMA not in tags:
        return None
    return f"{tags.get(TAG_OLDEST_SCHEMA, tags[TAG_SCHEMA])}-{tags[TAG_SCHEMA]}"


def incompatibility(tags: dict[str, str], schema: int | None) -> str | None:
    """Why a revision with these tags cannot run against ``schema``, or None when it can (or nothing is known:
    no schema recorded, or a revision that declares none)."""
    if schema is None or TAG_SCHEMA not in tags:
        return None
    newest = int(tags[TAG_SCHEMA])
    oldest = int(tags.get(TAG_OLDEST_SCHEMA, newest))
    if schema > newest:
        return (
            f"runs against schema {oldest}-{newest}, and migrations have since left the database at schema {schema}: "
            "the revision is older than the schema"
        )
    if schema < oldest:
        return f"runs against schema {oldest}-{newest}, and the database is at schema {schema}: it needs a newer one"
    return None
