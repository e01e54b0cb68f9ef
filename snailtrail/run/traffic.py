"""`abort` and `promote` of the service deployment in flight, from any terminal, whatever snailtrail (alive,
killed or never involved) started it: ECS holds the state, ListServiceDeployments finds it."""

from __future__ import annotations

import time
from typing import Any

from snailtrail.context import Context
from snailtrail.errors import DeployFailed
from snailtrail.run.native_deploy import ENDED, ROLLED_BACK, roll_back_deployment, waiting_hook
from snailtrail.run.native_setup import PRODUCTION_STAGE
from snailtrail.state.run_trail import RunTrail
from snailtrail.state.trail import current_actor

# How long `promote` follows the deployment to answer the hooks still ahead (ECS's own bakes included).
PROMOTE_TIMEOUT_S = 3600.0


def in_flight(ctx: Context) -> dict[str, Any]:
    """The service's newest deployment ECS has not finished with; DeployFailed (exit 1) when there is none."""
    settings = ctx.settings
    found = ctx.ecs.in_flight_deployments(settings.service.name)
    if not found:
        raise DeployFailed(
            f"no service deployment of {settings.service.name} is in flight in {settings.environment_name}",
            fix="`snailtrail status` shows what runs; `snailtrail rollback` returns a finished deploy to the "
            "last verified revision",
        )
    return found[0]


def _who(action: str, reason: str) -> str:
    return f"`snailtrail {action}` by {current_actor()}" + (f" ({reason})" if reason else "")


def abort_rollout(ctx: Context, reason: str) -> dict[str, Any]:
    """Roll the service deployment in flight back through ECS (a waiting hook answered ROLLBACK, else
    StopServiceDeployment ROLLBACK) and follow it until production traffic is on the old revision. A deploy
    following it sees the rollback and reports it; one that died left nothing else to clean."""
    brief = in_flight(ctx)
    arn = str(brief["serviceDeploymentArn"])
    run = RunTrail(ctx.trail, ctx.trail.new_run_id())
    timeout_s = 600.0
    message = roll_back_deployment(ctx, run, None, arn, "operator", _who("abort", reason), timeout_s)
    return {"ok": True, "message": message, "service_deployment": arn}


def promote_rollout(ctx: Context, reason: str) -> dict[str, Any]:
    """CONTINUE every PAUSE hook the deployment in flight reaches, until it is past production traffic's
    shift (ECS's own bakes still run; the deploy following it still judges its gates)."""
    brief = in_flight(ctx)
    arn = str(brief["serviceDeploymentArn"])
    strategy = ((ctx.ecs.service_deployment(arn) or {}).get("deploymentConfiguration") or {}).get("strategy")
    if strategy == "ROLLING":
        raise DeployFailed(
            "the deployment in flight is ROLLING: it has no PAUSE hooks to continue",
            fix="let it finish (`snailtrail status --watch`), or `snailtrail abort` rolls it back",
        )
    run = RunTrail(ctx.trail, ctx.trail.new_run_id())
    who = _who("promote", reason)
    continued: list[str] = []
    deadline = time.monotonic() + PROMOTE_TIMEOUT_S
    while time.monotonic() < deadline:
        deployment = ctx.ecs.service_deployment(arn) or {}
        status, stage = deployment.get("status"), deployment.get("lifecycleStage")
        if status in ENDED or status in ROLLED_BACK:
            break
        hook = waiting_hook(deployment)
        if hook is not None:
            ctx.ecs.continue_deployment(arn, hook["hookId"], "CONTINUE")
            continued.append(str(stage))
            run.emit(
                "deployment.promoted",
                None,
                f"{stage}: CONTINUE by {who}",
                data={"service_deployment": arn, "stage": stage, "hook": hook["hookId"], "reason": reason},
            )
            if stage == PRODUCTION_STAGE:
                break
        elif stage in ("BAKE_TIME", "CLEAN_UP"):
            break
        time.sleep(ctx.default_poll_interval_s)
    else:
        status = "still in flight"
    done = ", ".join(continued) or "no hook was waiting"
    return {
        "ok": status not in ROLLED_BACK and status != "STOPPED",
        "message": f"continued: {done}; the deployment is {status} at {deployment.get('lifecycleStage')}",
        "service_deployment": arn,
        "continued": continued,
    }
