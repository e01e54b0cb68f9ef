"""The ``snailtrail`` command: global options, error handling, exit codes (docs/contract.md).

Nothing heavy is imported here: boto3, botocore and docker load only inside the commands that
need them, so ``snailtrail --help`` stays fast.
"""

from __future__ import annotations

import gc
import json
import signal
import sys
import traceback
from typing import Optional

import typer

from snailtrail import __version__
from snailtrail.commands import (
    build,
    deploy,
    doctor,
    iam_policy,
    infra,
    init,
    logs,
    plan,
    rollback,
    sandbox,
    status,
    traffic,
    trail,
    unlock,
    verify,
)
from snailtrail.commands import run as run_command
from snailtrail.errors import SnailtrailError, operator_error
from snailtrail.global_options import GlobalOptions
from snailtrail.redaction import redact

app = typer.Typer(
    name="snailtrail",
    help="Deploy container services to Amazon ECS in verified phases; roll back to the last deployment "
    "that was proven good.\n\nWithout an AWS account everything runs against the embedded sandbox "
    "(the default environment of the repository's snailtrail.yaml).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich help rendering alone cost 0.25 s of start-up (docs/performance.md)
)

GLOBAL_FLAGS = {"--json", "--verbose", "-v"}
GLOBAL_OPTIONS = {"--config", "--env"}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"snailtrail {__version__}")
        raise typer.Exit()


@app.callback()
def global_options(
    ctx: typer.Context,
    config: Optional[str] = typer.Option(
        None,
        "--config",
        help="Path to snailtrail.yaml (else $SNAILTRAIL_CONFIG, else ./snailtrail.yaml).",
        show_default=False,
    ),
    env: Optional[str] = typer.Option(
        None,
        "--env",
        help="Environment to act on (else $SNAILTRAIL_ENV, else the config's default_environment).",
        show_default=False,
    ),
    json_output: bool = typer.Option(
        False, "--json", help="Print exactly one JSON document on stdout; progress goes to stderr."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every detail of long steps."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    ctx.obj = GlobalOptions(config=config, env=env, json_output=json_output, verbose=verbose)


# In the order `snailtrail --help` lists them; each command's docstring is its help.
for command in (
    init.init,
    deploy.deploy,
    verify.verify,
    plan.plan,
    rollback.rollback,
    status.status,
    logs.logs,
    run_command.run,
    trail.trail,
    traffic.abort,
    traffic.promote,
    build.build,
    build.push,
    build.smoke,
    unlock.unlock,
    iam_policy.iam_policy,
    doctor.doctor,
):
    app.command(command.__name__.replace("_", "-"))(command)
app.add_typer(infra.infra_app, name="infra")
app.add_typer(sandbox.sandbox_app, name="sandbox")


def hoist_global_options(argv: list[str]) -> list[str]:
    """Let global options follow the command name too (``snailtrail status --json``)."""
    hoisted: list[str] = []
    rest: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--":
            rest.extend(argv[index:])
            break
        name = arg.split("=", 1)[0]
        if arg in GLOBAL_FLAGS:
            hoisted.append(arg)
        elif name in GLOBAL_OPTIONS:
            if "=" in arg:
                hoisted.append(arg)
            elif index + 1 < len(argv):
                hoisted.extend(argv[index : index + 2])
                index += 1
            else:
                rest.append(arg)
        else:
            rest.append(arg)
        index += 1
    return hoisted + rest


def run(argv: list[str]) -> int:
    """Run one command line; returns the exit code (docs/contract.md) instead of exiting."""
    argv = hoist_global_options(argv)
    json_output = "--json" in argv
    try:
        # Without standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="snailtrail", standalone_mode=False)
    except SnailtrailError as exc:
        GlobalOptions.report_error(exc, json_output)
        return exc.exit_code
    except (KeyboardInterrupt, typer.Abort):
        sys.stderr.write("interrupted: `snailtrail status` and `snailtrail trail` say what state was left\n")
        if json_output:
            sys.stdout.write(json.dumps({"ok": False, "error": "interrupted", "exit_code": 130}) + "\n")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the operator gets one clear line, never a traceback
        # Usage errors: typer may vendor its own click, so recognise them by their interface.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            if json_output:
                document = {"ok": False, "error": redact(exc.format_message()), "exit_code": exc.exit_code}
                sys.stdout.write(json.dumps(document) + "\n")
            return exc.exit_code
        if "--verbose" in argv or "-v" in argv:
            traceback.print_exc()
        converted = operator_error(exc)
        GlobalOptions.report_error(converted, json_output)
        return converted.exit_code
    return code if isinstance(code, int) else 0


def main() -> None:
    # SIGTERM (CI cancelling a job, a container stopping) is handled as an interrupt: stop waiting,
    # roll back what is unverified, say so in the trail, exit 130.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = run(sys.argv[1:])
    # The interpreter's exit ends with one full garbage collection over every object still alive
    # (botocore's service models: 150,000 objects after a verify), a fifth of verify's CPU.
    # Frozen objects are left out of it; they are still freed by reference counting as modules
    # are torn down, and the command's work, its output included, is done by now.
    # https://docs.python.org/3/library/gc.html#gc.freeze
    gc.freeze()
    sys.exit(code)
