"""What the printed policies can name only after asking the account (read-only): the roles of the service's
older verified revisions, which a rollback passes to ECS."""

from __future__ import annotations

from snailtrail.context import Context
from snailtrail.infra.iam_policy import AccountResources


def account_resources(ctx: Context) -> AccountResources:
    roles = {
        arn
        for revision in ctx.history.verified()
        for arn in (ctx.history.get(revision.arn).definition.get(k) for k in ("taskRoleArn", "executionRoleArn"))
        if arn
    }
    return AccountResources(tuple(sorted(roles)))
