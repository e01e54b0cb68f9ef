"""snailtrail unlock --force"""

from __future__ import annotations

import typer

from snailtrail.global_options import GlobalOptions


def unlock(ctx: typer.Context, force: bool = typer.Option(False, "--force", help="Really remove it.")) -> None:
    """Remove a stale deploy lock (its holder crashed or was killed). Prints who held it and since when, and writes
    that to the trail. Needs --force: a live deploy would lose its lock.
    """
    from snailtrail.errors import ConfigError
    from snailtrail.state.trail import Event

    state: GlobalOptions = ctx.obj
    if not force:
        raise ConfigError("unlock removes another operator's lock", fix="pass --force when its holder is gone")
    context = state.context()
    holder = context.lock.force_remove()
    if holder is None:
        state.output({"removed": None}, "no lock was held")
        return
    detail = (
        f"lock of {holder['owner']} on {holder['host']} (pid {holder['pid']}, `{holder['command']}`, "
        f"since {holder['since']}) removed by unlock --force"
    )
    context.trail.emit(
        Event(kind="lock.removed", run_id=context.trail.new_run_id(), detail=detail, data={"holder": holder})
    )
    state.output({"removed": holder}, detail)
