"""snailtrail status"""

from __future__ import annotations

from typing import Any

import typer

from snailtrail.global_options import GlobalOptions


def lock_holder(context: Any) -> dict[str, Any] | None:
    from snailtrail.errors import ConfigError
    from snailtrail.state.lock import holder_gone

    try:
        holder = context.lock.holder()
    except ConfigError:
        return None  # no state table: no lock to report (deploy says how to create it)
    return None if holder is None or holder["expired"] else holder | {"holder_gone": holder_gone(holder)}


def collect(context: Any) -> dict[str, Any]:
    """The live service, its targets and each phase's completion; read-only."""
    from snailtrail.run.native_deploy import in_flight_summary
    from snailtrail.state.report import phase_states

    settings = context.settings
    service = context.live_service
    current = context.history.get(service["taskDefinition"]) if service and service.get("taskDefinition") else None
    targets: list[dict[str, Any]] = []
    lb = settings.service.load_balancer
    for name in (lb.target_group, lb.alternate):
        group = context.elbv2.target_group(name) if name else None
        if group is not None:
            targets += [
                {
                    "id": d["Target"]["Id"],
                    "port": d["Target"].get("Port"),
                    "target_group": name,
                    "state": d["TargetHealth"]["State"],
                    "reason": d["TargetHealth"].get("Reason"),
                }
                for d in context.elbv2.target_health(group["TargetGroupArn"])
            ]
    verified_by_phase: dict[str, Any] = {}
    for revision in sorted(context.history.verified(), key=lambda r: r.number, reverse=True):
        if revision.verified_at and revision.phase and revision.phase not in verified_by_phase:
            verified_by_phase[revision.phase] = revision
    phases = []
    for state in phase_states(context.trail.events(), context.phases):
        document = state.to_json()
        tagged = verified_by_phase.get(state.name)
        if tagged is not None and document["state"] == "not started":
            document["state"] = "verified"
        if tagged is not None:
            document["verified_at"] = document["verified_at"] or tagged.verified_at
            document["task_definition"] = document["task_definition"] or tagged.arn
        phases.append(document)
    deployments: list[dict[str, Any]] = [
        {
            "id": d.get("id"),
            "status": d.get("status"),
            "task_definition": d.get("taskDefinition"),
            "rollout_state": d.get("rolloutState"),
            "running": d.get("runningCount"),
            "desired": d.get("desiredCount"),
            "failed_tasks": d.get("failedTasks"),
        }
        for d in (service or {}).get("deployments", [])
    ]
    primary = next((d for d in deployments if d["status"] == "PRIMARY"), None)
    return {
        "environment": settings.environment_name,
        # Whatever the revision's history says (a reused revision was verified before), the service is
        # not on it yet while ECS still rolls it out or an older deployment still runs (a killed deploy).
        "mid_rollout": bool(primary and primary["rollout_state"] == "IN_PROGRESS") or len(deployments) > 1,
        "service": settings.service.name,
        "exists": service is not None,
        "service_deployment": in_flight_summary(context) if service is not None else None,
        "phase": current.phase if current else None,
        "task_definition": current.arn if current else None,
        "verified_at": current.verified_at if current else None,
        "deployments": deployments,
        "running": (service or {}).get("runningCount", 0),
        "desired": (service or {}).get("desiredCount", 0),
        "targets": targets,
        "lock": lock_holder(context),
        "phases": phases,
        "trail_warning": context.trail.remote_error,
    }


def service_deployment_lines(deployment: dict[str, Any] | None) -> list[str]:
    """The service deployment in flight: its stage, its hooks, and what an operator can do about it."""
    if deployment is None:
        return ["  no service deployment in flight"]
    lines = [
        f"  service deployment {deployment['id']} ({deployment['strategy']}): {deployment['status']} at "
        f"{deployment['stage']}" + (f", rollback: {deployment['rollback']}" if deployment["rollback"] else "")
    ]
    for hook in deployment["hooks"]:
        lines.append(
            f"    hook {hook['status']} (expires {hook['expires_at']}, then ECS will {hook['timeout_action']})"
        )
    lines.append(f"    continue: `{deployment['promote']}`; roll back: `{deployment['abort']}`")
    return lines


def render(document: dict[str, Any]) -> str:
    if not document["exists"]:
        head = [f"Service {document['service']} ({document['environment']}): does not exist yet"]
    else:
        verified = f"verified {document['verified_at']}" if document["verified_at"] else "NOT verified"
        state = f"{document['phase'] or 'unknown phase'}, {verified}"
        if document["mid_rollout"]:
            state = (
                f"MID-ROLLOUT to {document['phase'] or 'an unknown phase'} (its revision: {verified}); "
                f"{len(document['deployments'])} deployment(s) below. A deploy killed mid-way leaves this: "
                "`snailtrail rollback`, or deploy again"
            )
        head = [
            f"Service {document['service']} ({document['environment']}): {state}",
            f"  task definition {document['task_definition']}",
            f"  running {document['running']}/{document['desired']}",
        ]
        for deployment in document["deployments"]:
            head.append(
                f"  deployment {deployment['status']} {deployment['rollout_state']} "
                f"{deployment['running']}/{deployment['desired']} {deployment['task_definition']}"
            )
        head += service_deployment_lines(document["service_deployment"])
        for target in document["targets"]:
            head.append(
                f"  target {target['id']}:{target['port']} in {target['target_group']} {target['state']}"
                + (f" ({target['reason']})" if target["reason"] else "")
            )
    lock = document["lock"]
    if lock:
        head.append(
            f"  lock held by {lock['owner']} on {lock['host']} (pid {lock['pid']}): `{lock['command']}` "
            f"since {lock['since']}"
        )
        if lock["holder_gone"]:
            head.append(
                f"  its holder, pid {lock['pid']} on this host, is no longer running: "
                "`snailtrail unlock --force` clears the lock"
            )
    head += ["", "Phases:"]
    for phase in document["phases"]:
        head.append(f"  {phase['name']:<8} {phase['short_name']:<9} {phase['state']:<28} {phase['verified_at'] or ''}")
    return "\n".join(head)


def status(
    ctx: typer.Context,
    watch: bool = typer.Option(
        False, "--watch", help="A live view of deployments, tasks, targets and service events until Ctrl-C."
    ),
    interval: float = typer.Option(
        5.0, "--interval", min=1.0, max=300.0, help="Seconds between refreshes with --watch."
    ),
) -> None:
    """What runs now: phase, task definition and whether it is verified, deployments, running/desired, target health,
    and each phase's completion. Read-only.
    """
    from snailtrail.errors import ConfigError

    state: GlobalOptions = ctx.obj
    if not watch:
        document = collect(state.context())
        state.output(document, render(document))
        return
    if state.json_output:
        raise ConfigError("--watch redraws a view; it has no one JSON document", fix="drop --json or --watch")
    import time

    from rich.console import Console
    from rich.live import Live

    from snailtrail.run.live_status import render_live, snapshot

    context = state.context()
    with Live(render_live(snapshot(context, collect), time.time()), console=Console(), auto_refresh=False) as live:
        try:
            while True:
                time.sleep(interval)
                live.update(render_live(snapshot(context, collect), time.time()), refresh=True)
        except KeyboardInterrupt:
            return  # Ctrl-C is how watching ends: exit 0
