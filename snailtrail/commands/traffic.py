"""snailtrail abort | promote: steer a blue-green or canary rollout that is in flight."""

from __future__ import annotations

from typing import Any

import typer

from snailtrail.global_options import GlobalOptions

REASON_HELP = "Why: goes into the trail and the rollout log."


def abort(
    ctx: typer.Context,
    reason: str = typer.Option("", "--reason", help=REASON_HELP),
) -> None:
    """Abort the blue-green or canary rollout in flight: all traffic returns to the old colour at once (one listener
    update, made by this command), and the new colour is scaled to 0, by the baking deploy if it still runs, else by
    this command. Written to the trail with the reason.

    Exit codes: 0 traffic is back on the old colour; 1 no rollout is in flight, or it is already committing (its
    last bake passed: `snailtrail rollback` is the way back).
    """
    from snailtrail.traffic import abort_rollout

    state: GlobalOptions = ctx.obj
    document = abort_rollout(state.context(), reason)
    state.output(document, _human(document))


def promote(
    ctx: typer.Context,
    reason: str = typer.Option("", "--reason", help=REASON_HELP),
) -> None:
    """Promote the canary in flight: the baking deploy skips the remaining bake time and moves the new colour to 100 %
    at its next gate evaluation (the gates still judge that moment).

    Exit codes: 0 requested; 1 no rollout is in flight.
    """
    from snailtrail.traffic import promote_rollout

    state: GlobalOptions = ctx.obj
    document = promote_rollout(state.context(), reason)
    state.output(document, _human(document))


def _human(document: dict[str, Any]) -> str:
    return ("✓ " if document["ok"] else "✗ ") + document["message"]
