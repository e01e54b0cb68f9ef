"""Deployment history: which revision was live when, and so which verified revision a rollback returns to.

"Before the current deployment" is decided by what was deployed when, not by verification time:
the trail says when snailtrail put each revision live, and the service's PRIMARY deployment says when
the current deployment started, even when a killed deploy never wrote its end or a change was made
outside snailtrail.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snailtrail.aws.ecs import TAG_PHASE, TAG_VERIFIED, primary_deployment
from snailtrail.context import Context
from snailtrail.plan.taskdef import Revision
from snailtrail.state.schema import current_schema, incompatibility, schema_range

# Trail steps that point the service at a revision: a rolling deploy's and a rollback's update, a
# deploy's create, a native deployment's update (an unverified revision is never a target anyway).
LIVE_STEPS = ("update", "create")


@dataclass(frozen=True)
class Candidate:
    """A revision a rollback could return to, and why it can or cannot."""

    arn: str
    phase: str | None
    verified_at: str | None
    last_live_at: str | None
    eligible: bool
    reason: str
    default: bool = False
    schema: str | None = None  # the schema versions it runs against ("2-3"), when its phase declares them

    @property
    def number(self) -> int:
        return _number(self.arn)

    def to_json(self) -> dict[str, Any]:
        return {
            "task_definition": self.arn,
            "phase": self.phase,
            "verified_at": self.verified_at,
            "last_live_at": self.last_live_at,
            "eligible": self.eligible,
            "reason": self.reason,
            "default": self.default,
            "schema": self.schema,
        }


@dataclass(frozen=True)
class RollbackChoice:
    """The candidates, newest first, and the default target among them (None when none is eligible)."""

    current: str | None
    current_since: datetime | None
    candidates: list[Candidate]
    schema: int | None = None  # the database schema version the trail last recorded

    @property
    def blocked_by_schema(self) -> list[Candidate]:
        """Verified, ACTIVE candidates that only the schema rules out."""
        return [c for c in self.candidates if not c.eligible and c.reason.startswith("runs against schema")]

    @property
    def default(self) -> Candidate | None:
        return next((c for c in self.candidates if c.default), None)

    def to_json(self) -> dict[str, Any]:
        return {
            "current": self.current,
            "current_deployment_started": self.current_since.isoformat() if self.current_since else None,
            "default_target": self.default.arn if self.default else None,
            "schema": self.schema,
            "candidates": [c.to_json() for c in self.candidates],
        }


def parse_time(value: str | datetime) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def went_live(events: Iterable[dict[str, Any]]) -> list[tuple[datetime, str]]:
    """When snailtrail put each revision live, oldest first (a revision appears once per time)."""
    live: list[tuple[datetime, str]] = []
    for event in events:
        arn = event.get("task_definition")
        if not arn or event.get("ok") is not True:
            continue
        updated = event.get("kind") == "step" and event.get("data", {}).get("step") in LIVE_STEPS
        if updated or event.get("kind") == "deploy.finished":
            live.append((parse_time(event["at"]), arn))
    return sorted(live)


def current_deployment(service: dict[str, Any] | None) -> tuple[str | None, datetime | None]:
    """The revision the service runs and when its PRIMARY deployment was created (None if unknown)."""
    if service is None:
        return None, None
    primary = primary_deployment(service)
    created = primary.get("createdAt") if primary else None
    current = (primary or {}).get("taskDefinition") or service.get("taskDefinition")
    return current, parse_time(created) if created else None


def unfinished_rollback(events: Iterable[dict[str, Any]]) -> str | None:
    """The target of a rollback that started and was neither finished nor followed by a deploy
    (interrupted, or its process killed), else None."""
    last = None
    for event in events:
        if event.get("kind") in ("rollback.started", "rollback.finished", "deploy.started"):
            last = event
    if last is not None and last["kind"] == "rollback.started":
        return last.get("task_definition")
    return None


def ineligibility(revision: Revision | None, describe_error: str | None, schema: int | None = None) -> str | None:
    """Why a revision cannot be a rollback target, or None when it can (``schema``: the database's version)."""
    if describe_error is not None:
        return f"cannot be described: {describe_error}"
    assert revision is not None
    if not revision.active:
        return f"{revision.definition.get('status')}: deregistered, ECS no longer starts it"
    if not revision.verified_at:
        return "never verified"
    if not revision.verified_as_it_is:
        return "its verified-at tag is a copy: the definition differs from the one verified (fingerprint)"
    return incompatibility(revision.tags, schema)


def rollback_choice(
    ctx: Context,
    current: str | None,
    since: datetime | None = None,
    describe_all: bool = True,
    events: list[dict[str, Any]] | None = None,
) -> RollbackChoice:
    """The rollback candidates for a service running ``current`` since ``since`` (default: now).

    The default target is the newest eligible revision that was live before ``since``; when the trail
    holds no such deployment (it was lost), the most recently verified eligible revision. A rollback to
    ``current`` that never finished is finished instead: its target stays the default. With
    ``describe_all`` False, candidates are described only until the default is found. ``events`` is
    the trail when the caller has read it already (verify's checks share one read), else it is read.
    """
    events = ctx.trail.events() if events is None else events
    schema = current_schema(events)
    timeline = went_live(events)
    resuming = current if current and unfinished_rollback(events) == current else None
    cutoff = since or datetime.now(UTC)
    last_live: dict[str, datetime] = {}
    for moment, arn in timeline:
        last_live[arn] = moment
    # Newest first: what ran just before the current deployment comes first.
    earlier = [
        arn for arn, moment in sorted(last_live.items(), key=lambda item: item[1], reverse=True) if moment < cutoff
    ]
    verified = {r.arn: r for r in ctx.history.verified()}
    pool = dict.fromkeys(([resuming] if resuming else []) + earlier + sorted(verified, key=_number, reverse=True))
    if current:
        pool.setdefault(current)

    judged: dict[str, tuple[Revision | None, str | None]] = {}
    default: str | None = None
    for arn in pool:
        if default is not None and not describe_all:
            break
        if arn == current and not resuming:
            # Never a target (rolling back to what runs changes nothing): described only to be listed.
            revision, error = _describe(ctx, arn) if describe_all else (None, None)
            reason: str | None = "the current revision: the service runs it"
        else:
            revision, error = _describe(ctx, arn)
            reason = ineligibility(revision, error, schema)
        judged[arn] = (revision, reason)
        if reason is None and default is None and (arn in earlier or arn == resuming):
            default = arn
    fallback = default is None
    if fallback:
        eligible = [revision for revision, reason in judged.values() if reason is None and revision is not None]
        best = max(eligible, key=lambda r: (r.verified_at or "", r.number), default=None)
        default = best.arn if best else None

    candidates = []
    for arn, (revision, reason) in judged.items():
        tags = revision.tags if revision is not None else (verified[arn].tags if arn in verified else {})
        if arn == default and arn == resuming:
            why = "default: finishes the interrupted rollback to it (the service runs it, not verified since)"
        elif arn == default:
            why = (
                "default: the most recently verified (the trail shows no verified revision live before the current "
                "deployment)"
                if fallback
                else "default: the last verified revision live before the current deployment"
            )
        else:
            why = reason or "eligible: verified and ACTIVE (`rollback --to` it)"
        moment = last_live.get(arn)
        candidates.append(
            Candidate(
                arn,
                tags.get(TAG_PHASE),
                tags.get(TAG_VERIFIED),
                moment.isoformat(timespec="milliseconds") if moment else None,
                reason is None,
                why,
                arn == default,
                schema_range(tags),
            )
        )
    candidates.sort(key=lambda c: c.number, reverse=True)
    return RollbackChoice(current, since, candidates, schema)


def rollback_target(ctx: Context, current: str | None, since: datetime | None = None) -> Revision | None:
    """The default rollback target for a service running ``current`` since ``since`` (default: now)."""
    chosen = rollback_choice(ctx, current, since, describe_all=False).default
    return ctx.history.get(chosen.arn) if chosen else None


def _number(arn: str) -> int:
    return int(arn.rsplit(":", 1)[1])


def _describe(ctx: Context, arn: str) -> tuple[Revision | None, str | None]:
    try:
        return ctx.history.get(arn), None
    except (ClientError, BotoCoreError) as exc:
        message = exc.response["Error"]["Message"] if isinstance(exc, ClientError) else str(exc)
        return None, message
