"""`status --watch`: deployments, tasks, targets and the latest service events, as one rich view."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from snailtrail.context import Context

LATEST_EVENTS = 5


def snapshot(context: Context, collect: Callable[[Context], dict[str, Any]]) -> dict[str, Any]:
    """The status document (``collect``: the status command's) with the running tasks and the service's
    latest events, read afresh: a service deployment moves on between rounds."""
    context.refresh_live_service()
    context.refresh_history()
    document = collect(context)
    service = context.live_service or {}
    tasks = context.ecs.service_tasks(context.settings.service.name, ("RUNNING",)) if service else []
    document["tasks"] = [
        {
            "id": t["taskArn"].rsplit("/", 1)[-1],
            "task_definition": t.get("taskDefinitionArn", "").rsplit("/", 1)[-1],
            "last_status": t.get("lastStatus"),
            "health": t.get("healthStatus"),
            "started_at": str(t.get("startedAt") or ""),
        }
        for t in tasks
    ]
    # ECS lists a service's events newest first.
    document["events"] = [
        {"at": str(e.get("createdAt") or ""), "message": e.get("message", "")}
        for e in service.get("events", [])[:LATEST_EVENTS]
    ]
    return document


def _table(title: str, columns: list[str], rows: list[list[Any]], empty: str) -> RenderableType:
    if not rows:
        return Text(f"{title}: {empty}", style="dim")
    table = Table(title=title, title_justify="left", expand=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*[Text("" if cell is None else str(cell)) for cell in row])
    return table


def render_live(document: dict[str, Any], refreshed_at: float | None = None) -> RenderableType:
    """One frame of the live view."""
    at = time.strftime("%H:%M:%S", time.localtime(refreshed_at)) if refreshed_at is not None else ""
    if not document["exists"]:
        head = f"Service {document['service']} ({document['environment']}): does not exist yet"
    else:
        verified = f"verified {document['verified_at']}" if document["verified_at"] else "NOT verified"
        head = (
            f"Service {document['service']} ({document['environment']}): {document['phase'] or 'unknown phase'}, "
            f"{verified}, running {document['running']}/{document['desired']}"
        )
    parts: list[RenderableType] = [Text(head + (f"   (refreshed {at}, Ctrl-C to stop)" if at else ""), style="bold")]
    parts.append(
        _table(
            "deployments",
            ["status", "rollout", "running/desired", "failed", "task definition"],
            [
                [
                    d["status"],
                    d["rollout_state"],
                    f"{d['running']}/{d['desired']}",
                    d["failed_tasks"],
                    d["task_definition"],
                ]
                for d in document["deployments"]
            ],
            "none",
        )
    )
    native = document.get("service_deployment")
    parts.append(
        _table(
            "service deployment in flight",
            ["deployment", "strategy", "status", "stage", "hooks", "production weight"],
            [
                [
                    native["id"],
                    native["strategy"],
                    native["status"],
                    native["stage"],
                    ", ".join(
                        f"{h['status']} until {h['expires_at']} then {h['timeout_action']}" for h in native["hooks"]
                    )
                    or "none",
                    native["evidence"]["production_weight"],
                ]
            ]
            if native
            else [],
            "none",
        )
    )
    parts.append(
        _table(
            "tasks",
            ["task", "revision", "status", "health", "started"],
            [
                [t["id"][:8], t["task_definition"], t["last_status"], t["health"], t["started_at"]]
                for t in document.get("tasks", [])
            ],
            "none running",
        )
    )
    parts.append(
        _table(
            "targets",
            ["target", "group", "state", "reason"],
            [[f"{t['id']}:{t['port']}", t.get("target_group"), t["state"], t["reason"]] for t in document["targets"]],
            "none registered",
        )
    )
    parts.append(
        _table(
            "latest service events",
            ["at", "message"],
            [[e["at"], e["message"]] for e in document.get("events", [])],
            "none",
        )
    )
    lock = document.get("lock")
    if lock:
        parts.append(Text(f"lock held by {lock['owner']} on {lock['host']}: `{lock['command']}` since {lock['since']}"))
    return Group(*parts)
