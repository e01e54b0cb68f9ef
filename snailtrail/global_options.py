"""What every command gets from the global options, and how results and errors are printed."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import Any

from snailtrail.errors import SnailtrailError
from snailtrail.redaction import redact, redact_value


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
                    )
                    if running
                    else Endpoints(None, None, None)
                )
            self._context = Context(settings, reporter, endpoints)
        return self._context

    def output(self, document: dict[str, Any], human: str | None = None) -> None:
        """One JSON document with --json; otherwise the human rendering (plain text when piped). Both redacted."""
        if self.json_output:
            sys.stdout.write(json.dumps(redact_value(document), indent=2, sort_keys=True, default=str) + "\n")
        elif human is not None:
            from rich.console import Console

            Console(highlight=False, soft_wrap=True).print(redact(human), markup=False)

    @staticmethod
    def print_rich(renderable: Any) -> None:
        """A rich rendering (a tree, a table) on stdout, redacted as it is written."""
        from rich.console import Console

        console = Console(highlight=False, soft_wrap=True)
        with console.capture() as captured:
            console.print(renderable)
        sys.stdout.write(redact(captured.get()))

    @staticmethod
    def echo(line: str) -> None:
        """One line of a stream (followed logs) on stdout, redacted."""
        sys.stdout.write(redact(line) + "\n")
        sys.stdout.flush()

    @staticmethod
    def report_error(error: SnailtrailError, json_output: bool) -> None:
        from snailtrail.ui import Reporter

        Reporter().error(error.message, error.fix)  # redacted by the reporter
        if json_output:
            document = {"ok": False, "error": error.message, "fix": error.fix, "exit_code": error.exit_code}
            sys.stdout.write(json.dumps(redact_value(document)) + "\n")
