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

    def context(self, needs_aws: bool = True) -> Any:
        """Settings, AWS clients and the reporter for this run (loaded once); the configuration is validated here.

        Nothing starts here: against a sandbox environment that is not running, a command that
        ``needs_aws`` is refused (exit 2, saying how to start it); the others (``trail`` reads its
        local cache, ``deploy`` validates its arguments first and then calls ``start_sandbox``)
        get a context without an AWS endpoint.
        """
        if self._context is None:
            from snailtrail.config.settings import EnvironmentKind, load_settings
            from snailtrail.context import Context
            from snailtrail.ui import Reporter

            settings = load_settings(self.config, self.env)
            reporter = Reporter(verbose=self.verbose)
            endpoints = None
            if settings.environment.kind is EnvironmentKind.sandbox:
                from snailtrail.sandbox import control

                try:
                    running = control.current(settings)
                except control.SandboxUnresponsive:
                    if needs_aws:
                        raise
                    running = None  # `trail` reads its cache; `deploy`'s start says what is wrong
                endpoints = sandbox_endpoints(running)
            self._context = Context(settings, reporter, endpoints)
        if needs_aws:
            self._context.require_aws()
        return self._context

    def start_sandbox(self, command: str) -> None:
        """Start the sandbox of a sandbox environment when it is not running, saying so (``deploy`` alone does).

        Called once the configuration, the phases and the command's arguments are valid: a typo
        starts nothing.
        """
        context = self.context(needs_aws=False)
        from snailtrail.config.settings import EnvironmentKind

        if context.settings.environment.kind is not EnvironmentKind.sandbox or context.aws_reachable:
            return
        from snailtrail.sandbox import control

        context.reporter.note(
            f"{command} starts the sandbox of environment {context.settings.environment_name}: it is not running "
            "(`snailtrail sandbox down` stops it)"
        )
        context.endpoints = sandbox_endpoints(control.up(context.settings, context.reporter)[0])

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


def sandbox_endpoints(running: Any) -> Any:
    """Where a running sandbox answers (control.SandboxState), or no endpoint at all when it is not running."""
    from snailtrail.context import Endpoints

    if running is None:
        return Endpoints(None, None, None)
    return Endpoints(
        running.aws_endpoint_url,
        running.front_door_url,
        running.registry,
        running.data.get("dns_server"),
        running.data.get("test_url"),
        running.access_key,
        running.data.get("task_environment") or {},
        running.ca_file,
    )
