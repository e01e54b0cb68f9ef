"""Choosing what `snailtrail rollback` returns to: always a verified revision, never merely the previous one."""

from __future__ import annotations

from botocore.exceptions import ClientError

from snailtrail.context import Context
from snailtrail.errors import ConfigError, RollbackFailed
from snailtrail.history import current_deployment, rollback_target
from snailtrail.taskdef import Revision


def choose_target(ctx: Context, wanted: str | None) -> Revision:
    service = ctx.colours.live_service
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
        return revision
    if wanted:
        phase = ctx.phase(wanted)
        candidates = [r for r in ctx.history.verified() if r.phase == phase.name]
        newest_first = sorted(candidates, key=lambda r: (r.verified_at or "", r.number), reverse=True)
        active = next(
            (r for r in map(ctx.history.get, (c.arn for c in newest_first)) if r.active and r.verified_as_it_is), None
        )
        if active is None:
            raise RollbackFailed(
                f"{phase.name} has no verified ACTIVE revision"
                + (f" ({len(candidates)} verified, all deregistered)" if candidates else ""),
                fix="deploy it first, or choose another phase",
            )
        return active
    # The last verified revision live before the current deployment started (history.py), so a
    # killed deploy of an older phase or a change made outside snailtrail returns to what ran before.
    current, since = current_deployment(service)
    target = rollback_target(ctx, current, since)
    if target is None:
        raise RollbackFailed(
            f"no verified deployment other than the current {current} exists",
            fix="deploy a phase and let it verify; `snailtrail rollback --list` shows each candidate and why "
            "it is not eligible",
        )
    return target
