"""Choosing what `snailtrail rollback` returns to: always a verified revision, never merely the previous one."""

from __future__ import annotations

from botocore.exceptions import ClientError

from snailtrail.context import Context
from snailtrail.errors import ConfigError, RollbackFailed
from snailtrail.plan.taskdef import Revision
from snailtrail.state.history import RollbackChoice, current_deployment, rollback_choice
from snailtrail.state.schema import current_schema, incompatibility


def way_forward(schema: int | None) -> str:
    """What to do when the schema rules out every rollback target."""
    return (
        f"a forward fix: deploy a revision that runs against schema {schema} (a phase whose schema range holds it); "
        "or migrate the database down first, with the revision that runs now: `snailtrail run PHASE "
        "--leaves-schema N -- DOWN-MIGRATION`, then `snailtrail rollback` (docs/operations.md)"
    )


def schema_refusal(subject: str, why: str, schema: int | None) -> RollbackFailed:
    return RollbackFailed(f"{subject} cannot run against the database's schema: it {why}", fix=way_forward(schema))


def choose_target(ctx: Context, wanted: str | None) -> Revision:
    service = ctx.live_service
    if wanted and wanted.startswith("arn:"):
        family = wanted.rsplit("/", 1)[-1].rsplit(":", 1)[0]
        if family != ctx.settings.service.task_family:
            raise ConfigError(
                f"{wanted} is not a revision of {ctx.settings.service.task_family}",
                fix="name a revision of the service's own task-definition family",
            )
        try:
            revision = ctx.history.get(wanted)
        except ClientError as exc:
            raise ConfigError(
                f"{wanted.rsplit('/', 1)[-1]} cannot be described: {exc.response['Error']['Message']}",
                fix="`snailtrail status` and the trail list the verified revisions",
            ) from None
        if not revision.verified_at:
            raise ConfigError(
                f"{wanted} was never verified",
                fix="roll back to a verified revision: `snailtrail rollback --list` lists them, or use --to PHASE",
            )
        if not revision.verified_as_it_is:
            raise ConfigError(
                f"{wanted} carries a verified-at tag, but its definition is not the one verified (its fingerprint "
                "differs: the tags were copied to it, as ecs-deploy's deploy --image does)",
                fix="roll back to the revision that was verified: `snailtrail rollback --list` lists them",
            )
        if not revision.active:
            raise ConfigError(
                f"{wanted} is {revision.definition.get('status')}: ECS no longer starts a deregistered revision",
                fix="`snailtrail rollback --list` shows the eligible revisions",
            )
        schema = current_schema(ctx.trail.events())
        why = incompatibility(revision.tags, schema)
        if why is not None:
            raise schema_refusal(wanted, why, schema)
        return revision
    if wanted:
        phase = ctx.phase(wanted)
        schema = current_schema(ctx.trail.events())
        candidates = [r for r in ctx.history.verified() if r.phase == phase.name]
        newest_first = sorted(candidates, key=lambda r: (r.verified_at or "", r.number), reverse=True)
        active = [r for r in map(ctx.history.get, (c.arn for c in newest_first)) if r.active and r.verified_as_it_is]
        runnable = next((r for r in active if incompatibility(r.tags, schema) is None), None)
        if active and runnable is None:
            raise schema_refusal(
                f"{phase.name}'s last verified revision", incompatibility(active[0].tags, schema) or "", schema
            )
        if runnable is None:
            raise RollbackFailed(
                f"{phase.name} has no verified ACTIVE revision"
                + (f" ({len(candidates)} verified, all deregistered)" if candidates else ""),
                fix="deploy it first, or choose another phase",
            )
        return runnable
    # The last verified revision live before the current deployment started (history.py), so a
    # killed deploy of an older phase or a change made outside snailtrail returns to what ran before.
    current, since = current_deployment(service)
    choice = rollback_choice(ctx, current, since, describe_all=False)
    if choice.default is None:
        raise no_target(choice)
    return ctx.history.get(choice.default.arn)


def no_target(choice: RollbackChoice) -> RollbackFailed:
    """Why nothing can be rolled back to: the schema, when it alone rules the verified revisions out."""
    blocked = choice.blocked_by_schema
    if blocked:
        names = ", ".join(f"{c.arn.rsplit('/', 1)[-1]} ({c.phase}, schema {c.schema})" for c in blocked)
        return RollbackFailed(
            f"no verified revision can run against the database's schema {choice.schema}: the verified "
            f"ones run against other schemas ({names}; `snailtrail rollback --list` says why each)",
            fix=way_forward(choice.schema),
        )
    return RollbackFailed(
        f"no verified deployment other than the current {choice.current} exists",
        fix="deploy a phase and let it verify; `snailtrail rollback --list` shows each candidate and why "
        "it is not eligible",
    )
