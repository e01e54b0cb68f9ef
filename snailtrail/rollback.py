"""Choosing what to roll back to: always a verified revision, never merely the previous one."""

from __future__ import annotations

from botocore.exceptions import ClientError

from snailtrail.context import Context
from snailtrail.errors import ConfigError, RollbackFailed
from snailtrail.taskdef import Revision


def choose_target(ctx: Context, wanted: str | None) -> Revision:
    service = ctx.colours.live_service
    current = service.get("taskDefinition") if service else None
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
                fix="roll back to a verified revision: `snailtrail status` lists them, or use --to PHASE",
            )
        return revision
    if wanted:
        phase = ctx.phase(wanted)
        candidates = [r for r in ctx.history.verified() if r.phase == phase.name]
        if not candidates:
            raise RollbackFailed(
                f"{phase.name} has no verified revision", fix="deploy it first, or choose another phase"
            )
        return ctx.history.get(max(candidates, key=lambda r: (r.verified_at or "", r.number)).arn)
    running = ctx.history.get(current) if current else None
    if running is not None and running.verified_at:
        # Before the current one: a verified revision that was verified earlier than what runs now.
        earlier = [
            r
            for r in ctx.history.verified()
            if r.verified_at
            and r.arn != running.arn
            and (r.verified_at, r.number) < (running.verified_at, running.number)
        ]
        best = max(earlier, key=lambda r: (r.verified_at or "", r.number), default=None)
        target = ctx.history.get(best.arn) if best else None
    else:
        target = ctx.history.last_verified(exclude=frozenset({current} if current else set()))
    if target is None:
        raise RollbackFailed(
            f"no verified deployment other than the current {current} exists",
            fix="deploy a phase and let it verify; `snailtrail status` shows what runs",
        )
    return target
