"""snailtrail trail"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import Optional

import typer

from snailtrail.global_options import GlobalOptions


class TrailFormat(StrEnum):
    markdown = "markdown"
    json = "json"


def trail(
    ctx: typer.Context,
    format: TrailFormat = typer.Option(TrailFormat.markdown, "--format", help="markdown or json."),  # noqa: A002
    output: Optional[Path] = typer.Option(None, "--output", help="Write to this file instead of stdout."),
) -> None:
    """The rollout log: phase completion, a timeline of every run's steps, failures with causes and fixes, and
    rollbacks; read from the state table (the local cache when it is unreachable).
    """
    from snailtrail.state.report import render_markdown

    state: GlobalOptions = ctx.obj
    context = state.context(needs_aws=False)
    events = context.trail.events()
    if context.trail.remote_error:
        context.reporter.warn(f"{context.trail.remote_error}; showing the local cache")
    as_json = format is TrailFormat.json or state.json_output
    text = (
        json.dumps({"events": events}, indent=2, sort_keys=True) + "\n"
        if as_json
        else render_markdown(events, context.phases, context.settings.service.name, context.settings.environment_name)
    )
    if output is not None:
        output.write_text(text, encoding="utf-8")
        context.reporter.note(f"wrote {len(events)} events to {output}")
        if state.json_output:
            state.output({"ok": True, "output": str(output), "events": len(events)})
    else:
        typer.echo(text, nl=False)
