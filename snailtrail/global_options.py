"""What every command gets from the global options, and how results and errors are printed."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from snailtrail.errors import SnailtrailError


@dataclass
class GlobalOptions:
    config: str | None = None
    env: str | None = None
    json_output: bool = False
    verbose: bool = False
    _context: Any = field(default=None, repr=False)

    def context(self, start_sandbox: bool = True) -> Any:
        """Settings, AWS clients and the reporter for this run (loaded once).

        Against a sandbox environment the sandbox is started when it is not running (unless
        ``start_sandbox`` is False, for commands that can answer from the local cache).
        """
        if self._context is None:
            from snailtrail.config import EnvironmentKind, load_settings
            from snailtrail.context import Context, Endpoints
            from snailtrail.ui import Reporter

            settings = load_settings(self.config, self.env)
            reporter = Reporter(verbose=self.verbose)
            endpoints = None
            if settings.environment.kind is EnvironmentKind.sandbox:
                from snailtrail.sandbox import control

                running = control.up(settings, reporter)[0] if start_sandbox else control.current(settings)
                endpoints = (
                    Endpoints(
                        running.aws_endpoint_url,
                        running.front_door_url,
                        running.registry,
                        running.data.get("dns_server"),
                        running.data.get("test_url"),
                        running.data.get("task_environment") or {},
                    )
                    if running
                    else Endpoints(None, None, None)
                )
            self._context = Context(settings, reporter, endpoints)
        return self._context

    def output(self, document: dict[str, Any], human: str | None = None) -> None:
        """One JSON document with --json; otherwise the human rendering (plain text when piped)."""
        if self.json_output:
            sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")
        elif human is not None:
            from rich.console import Console

            Console(highlight=False, soft_wrap=True).print(human, markup=False)

    @staticmethod
    def report_error(error: SnailtrailError, json_output: bool) -> None:
        from snailtrail.ui import Reporter

        Reporter().error(error.message, error.fix)
        if json_output:
            sys.stdout.write(
                json.dumps({"ok": False, "error": error.message, "fix": error.fix, "exit_code": error.exit_code}) + "\n"
            )
