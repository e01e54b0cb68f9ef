"""Human progress on stderr (rich on a terminal, plain lines otherwise); stdout stays for results.

Every message is redacted (snailtrail/redaction.py) here, where it leaves."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn

from snailtrail.redaction import redact

MARKS = {True: "[green]✓[/]", False: "[red]✗[/]", None: "[yellow]•[/]"}


class Reporter:
    def __init__(self, verbose: bool = False, quiet: bool = False) -> None:
        self.console = Console(stderr=True, highlight=False, soft_wrap=True)
        self.verbose = verbose
        self.quiet = quiet

    def note(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"  {escape(redact(message))}")

    def detail(self, message: str) -> None:
        if self.verbose and not self.quiet:
            self.console.print(f"    [dim]{escape(redact(message))}[/]")

    def warn(self, message: str) -> None:
        self.console.print(f"[yellow]warning:[/] {escape(redact(message))}")

    def error(self, message: str, fix: str | None = None) -> None:
        self.console.print(f"[red]error:[/] {escape(redact(message))}")
        if fix:
            self.console.print(f"[cyan]fix:[/] {escape(redact(fix))}")

    def heading(self, message: str) -> None:
        if not self.quiet:
            self.console.print(f"[bold]{escape(redact(message))}[/]")

    @contextlib.contextmanager
    def step(self, name: str, summary: str) -> Iterator[None]:
        """A spinner while a long step runs, when stderr is a terminal."""
        if self.console.is_terminal and not self.quiet:
            with self.console.status(f"{escape(name)}: {escape(redact(summary))}"):
                yield
        else:
            yield

    def step_done(self, name: str, ok: bool | None, duration_s: float, detail: str) -> None:
        if not self.quiet or ok is False:
            self.console.print(f"{MARKS[ok]} {escape(name):<9} {escape(redact(detail))} [dim]({duration_s:.1f} s)[/]")

    @contextlib.contextmanager
    def layers(self, title: str) -> Iterator[Any]:
        """Per-layer progress for a push; yields ``update(layer, status, current, total)``."""
        if not self.console.is_terminal or self.quiet:
            seen: set[tuple[str, str]] = set()

            def plain(layer: str, status: str, current: int | None, total: int | None) -> None:
                if status in ("Pushed", "Layer already exists", "Mounted from") and (layer, status) not in seen:
                    seen.add((layer, status))
                    self.detail(f"{title}: layer {layer} {status.lower()}")

            yield plain
            return
        progress = Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=self.console, transient=True
        )
        tasks: dict[str, TaskID] = {}
        with progress:

            def update(layer: str, status: str, current: int | None, total: int | None) -> None:
                if layer not in tasks:
                    tasks[layer] = progress.add_task(f"{title} {layer}", total=total)
                progress.update(
                    tasks[layer], completed=current or 0, total=total, description=f"{title} {layer} {status}"
                )

            yield update
