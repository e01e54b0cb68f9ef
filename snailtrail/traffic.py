"""`abort` and `promote` for a rollout in flight, from any terminal while the deploy bakes."""

from __future__ import annotations

from typing import Any

from snailtrail.context import Context
from snailtrail.errors import DeployFailed
from snailtrail.inflight import ABORT, PROMOTE
from snailtrail.recovery import RolloutRecord, restore_traffic, retire_new_colour
from snailtrail.trail import Event, current_actor


def _request(ctx: Context, action: str, reason: str) -> dict[str, str]:
    """Write the request into the in-flight record first: a deploy about to shift traffic sees it."""
    settings = ctx.settings
    inflight = ctx.inflight
    record = inflight.request(action, reason)
    if record is None:
        raise DeployFailed(
            f"no blue-green or canary rollout of {settings.service.name} is in flight in {settings.environment_name}",
            fix="`snailtrail status` shows what runs; `snailtrail rollback` returns a finished deploy to the "
            "last verified revision",
        )
    return record


def abort_rollout(ctx: Context, reason: str) -> dict[str, Any]:
    """Traffic back on the old colour now (one ModifyListener or ModifyRule), then the new colour to zero: by the
    baking deploy when one holds the lock, else here."""
    record = _request(ctx, ABORT, reason)
    rollout = RolloutRecord.from_inflight(record)
    old, new = rollout.old_service, rollout.new_service
    why = f" ({reason})" if reason else ""
    # The listener's (or rule's) actions as the rollout found them: a redirect, authenticate actions
    # and stickiness come back with the traffic.
    switched_s = restore_traffic(ctx, rollout, f"`snailtrail abort` by {current_actor()}{why}", "operator", reason)
    holder = ctx.lock.holder()
    deploy_running = holder is not None and not holder["expired"]
    if holder is not None and deploy_running:
        message = (
            f"traffic is back on {old}; the lock is held by `{holder['command']}` ({holder['owner']} on "
            f"{holder['host']}, pid {holder['pid']}): a deploy baking this rollout scales {new} to 0 at its next "
            "gate evaluation; if that process is gone, run `snailtrail abort` again once its lock expires"
        )
    else:
        with ctx.holding_lock(f"abort {record['phase']}"):
            scaled = retire_new_colour(ctx, rollout)
        message = f"traffic is back on {old}; " + (
            f"{new} scaled to 0 (no deploy was running)"
            if scaled
            else f"{new} was never created (no deploy was running)"
        )
        ctx.trail.emit(
            Event(
                kind="rollout.aborted",
                run_id=record["run_id"],
                phase=record.get("phase"),
                detail=f"operator: {message}{why}",
                ok=False,
                data={"gate": "operator", "reason": reason},
            )
        )
    return {
        "ok": True,
        "message": message,
        "old_service": old,
        "new_service": new,
        "listener_update_s": round(switched_s, 3),
        "deploy_running": deploy_running,
    }


def promote_rollout(ctx: Context, reason: str) -> dict[str, Any]:
    record = _request(ctx, PROMOTE, reason)
    ctx.trail.emit(
        Event(
            kind="rollout.promote-requested",
            run_id=record["run_id"],
            phase=record.get("phase"),
            detail=f"`snailtrail promote` by {current_actor()}" + (f" ({reason})" if reason else ""),
            data={"reason": reason},
        )
    )
    return {
        "ok": True,
        "message": f"promotion requested: the deploy moves {record['new_service']} to 100% at its next gate "
        "evaluation, skipping the remaining bake",
        "new_service": record["new_service"],
    }
