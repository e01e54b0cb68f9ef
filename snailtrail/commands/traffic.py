"""snailtrail abort | promote: steer the service deployment in flight (ECS's, found with ListServiceDeployments)."""

from __future__ import annotations

from typing import Any

import typer

from snailtrail.global_options import GlobalOptions

REASON_HELP = "Why: goes into the trail and the rollout log."


def abort(
    ctx: typer.Context,
    reason: str = typer.Option("", "--reason", help=REASON_HELP),
) -> None:
    """Roll the service deployment in flight back through ECS: a PAUSE hook that waits is answered ROLLBACK, else
    StopServiceDeployment ROLLBACK; this command follows it until production traffic is on the old revision. Works
    whether the deploy that started it still runs, was killed, or was a rolling one. Written to the trail.

    Exit codes: 0 rolled back; 1 no service deployment is in flight (`snailtrail rollback` returns a finished
    deploy to the last verified revision).
    """
    from snailtrail.run.traffic import abort_rollout

    state: GlobalOptions = ctx.obj
    document = abort_rollout(state.context(), reason)
    state.output(document, _human(document))


def promote(
    ctx: typer.Context,
    reason: str = typer.Option("", "--reason", help=REASON_HELP),
) -> None:
    """Continue the service deployment in flight past its remaining PAUSE hooks (a manual hold, snailtrail's own
    judgements): each hook is answered CONTINUE as ECS reaches it, until production traffic has moved. ECS's own
    bakes still run, and a deploy following the deployment still judges its gates.

    Exit codes: 0 continued; 1 no service deployment is in flight, or ECS rolled it back meanwhile.
    """
    from snailtrail.run.traffic import promote_rollout

    state: GlobalOptions = ctx.obj
    document = promote_rollout(state.context(), reason)
    state.output(document, _human(document))


def _human(document: dict[str, Any]) -> str:
    return ("✓ " if document["ok"] else "✗ ") + document["message"]
