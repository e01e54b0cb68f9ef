"""snailtrail verify"""

from __future__ import annotations

import contextlib
import gc
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Optional

import typer

from snailtrail.global_options import GlobalOptions

MARKS = {"pass": "✓", "warn": "!", "fail": "✗", "skip": "-"}


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off for the block, as it was after.

    A verify run lasts about a second and allocates mostly acyclic data that lives until it ends
    (botocore's parsed service models, about 150,000 objects, and the JSON answers); the collector
    re-scanned them about 300 times per run, about a tenth of its CPU (docs/performance.md).
    Reference counting still frees everything acyclic; the few cycles wait for the collector's
    next run after the block, or the process's end.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def render_tree(report: Any, environment: str, command: str = "verify") -> Any:
    from rich.markup import escape
    from rich.tree import Tree

    colours = {"pass": "green", "warn": "yellow", "fail": "red", "skip": "dim"}
    tree = Tree(
        f"{command} {environment}: {'ok' if report.ok else 'FAILED'} ({report.duration_s:.2f} s, "
        f"{report.api_calls} API calls)"
    )
    branches: dict[str, Any] = {}
    for spec, result in report.results:
        branch = branches.get(spec.layer) or branches.setdefault(spec.layer, tree.add(f"[bold]{spec.layer}[/]"))
        status = result.status.value
        node = branch.add(f"[{colours[status]}]{MARKS[status]} {escape(result.name)}[/]: {escape(result.summary)}")
        if result.fix and status in ("fail", "warn"):
            node.add(f"[cyan]fix:[/] {escape(result.fix)}")
    return tree


def render_plain(report: Any, environment: str, command: str = "verify") -> str:
    """Plain lines for logs and pipes: every summary whole, the fix under each failure or warning."""
    lines = [
        f"{command} {environment}: {'ok' if report.ok else 'FAILED'} ({report.duration_s:.2f} s, "
        f"{report.api_calls} API calls)"
    ]
    for spec, result in report.results:
        status = result.status.value
        lines.append(f"{MARKS[status]} [{spec.layer}] {result.name}: {result.summary}")
        if result.fix and status in ("fail", "warn"):
            lines.append(f"    fix: {result.fix}")
    return "\n".join(lines)


def output_report(
    state: GlobalOptions, report: Any, document: dict[str, Any], environment: str, command: str = "verify"
) -> None:
    """The JSON document, a tree on a terminal, plain lines in a pipe; exit 1 when a check failed."""
    if state.json_output:
        state.output(document)
    else:
        from rich.console import Console

        if Console().is_terminal:
            state.print_rich(render_tree(report, environment, command))
        else:
            state.output(document, render_plain(report, environment, command))
    if not report.ok:
        raise typer.Exit(1)


def verify(
    ctx: typer.Context,
    phase: Optional[str] = typer.Option(
        None, "--phase", help="Judge against this phase (default: the phase of the running task definition)."
    ),
    only: list[str] = typer.Option([], "--only", help="Run only this check (repeatable)."),
    list_checks: bool = typer.Option(False, "--list", help="Print the catalogue of checks and exit."),
    junit: Optional[Path] = typer.Option(
        None, "--junit", help="Also write a JUnit XML report here (one testcase per check).", dir_okay=False
    ),
    output_format: str = typer.Option(
        "text", "--format", help="text (a tree, plain when piped) or github (GitHub Actions annotations)."
    ),
) -> None:
    """Check every layer from DNS to the app, read-only: DNS ownership, listener, target group, port alignment,
    security groups, network path, cluster, service, revision, image, target health, the phase's success criteria.
    Prints a tree ordered as traffic flows, with the fix for each failure. Exit 0 when nothing fails (warnings
    allowed), 1 otherwise.
    """
    from snailtrail.errors import ConfigError

    state: GlobalOptions = ctx.obj
    if output_format not in ("text", "github"):
        raise ConfigError(f"--format {output_format} is not known", fix="use --format text or --format github")
    if output_format == "github" and state.json_output:
        raise ConfigError("--format github and --json both claim stdout", fix="choose one of them")
    from snailtrail.checks.catalogue import selected

    if only:
        selected(only)  # a typo in --only is named before any AWS call
    if list_checks:
        specs = selected(None)
        state.output(
            {
                "checks": [
                    {"name": s.name, "layer": s.layer, "prevents": s.prevents, "describes": s.describes} for s in specs
                ]
            },
            "\n".join(f"{s.layer:<13} {s.name:<22} {s.describes}" for s in specs),
        )
        return
    with cyclic_gc_paused():
        verify_live(state, phase, only, junit, output_format)


def verify_live(
    state: GlobalOptions, phase: str | None, only: list[str], junit: Path | None, output_format: str
) -> None:
    """Run the checks against the live environment and print the report (exit 1 when one fails)."""
    from snailtrail.checks.catalogue import run_checks
    from snailtrail.checks.view import LiveView
    from snailtrail.errors import ConfigError

    context = state.context(needs_aws=False)
    chosen = context.phase(phase) if phase else None
    context.require_aws()
    started, calls_before = time.monotonic(), context.clients.total_calls
    view = LiveView(context, context.endpoints.dns_server)
    if chosen is None:
        revision = view.running_revision()
        chosen = context.phase_or_none(revision.phase) if revision else None
    report = run_checks(view, chosen, only or None, started, calls_before)
    environment = context.settings.environment_name
    document = {
        "ok": report.ok,
        "environment": environment,
        "phase": chosen.name if chosen else None,
        "checks": [result.to_json() | {"layer": spec.layer} for spec, result in report.results],
        "duration_s": round(report.duration_s, 3),
        "api_calls": report.api_calls,
    }
    if junit is not None:
        from snailtrail.checks.ci_report import junit_xml

        try:
            junit.write_text(junit_xml(report, environment), encoding="utf-8")
        except OSError as exc:
            reason = exc.strerror or exc
            raise ConfigError(f"--junit {junit}: {reason}", fix="name a file in a writable directory") from exc
    if output_format == "github":  # verify() refused it beside --json
        from snailtrail.checks.ci_report import github_annotations

        typer.echo("\n".join(github_annotations(report, environment)))
        if not report.ok:
            raise typer.Exit(1)
        return
    output_report(state, report, document, environment)
