"""The ``snailtrail`` command: global options, error handling, exit codes (cli-contract.md).

Nothing heavy is imported here: boto3, botocore and docker load only inside the commands that
need them, so ``snailtrail --help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import Optional

import typer

from snailtrail import __version__
from snailtrail.commands import build, deploy, plan, rollback, sandbox, status, trail, unlock, verify
from snailtrail.errors import ConfigError, SnailtrailError
from snailtrail.state import CliState

app = typer.Typer(
    name="snailtrail",
    help="Deploy container services to Amazon ECS in verified phases; roll back to the last deployment "
    "that was proven good.\n\nWithout an AWS account everything runs against the embedded sandbox "
    "(the default environment of the repository's snailtrail.yaml).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
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
    ctx.obj = CliState(config=config, env=env, json_output=json_output, verbose=verbose)


for module in (deploy, verify, plan, rollback, status, trail, build, unlock, sandbox):
    module.register(app)


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
    """Run one command line; returns the exit code (cli-contract.md) instead of exiting."""
    argv = hoist_global_options(argv)
    json_output = "--json" in argv
    try:
        # Without standalone mode click returns typer.Exit's code instead of raising it.
        code = app(args=argv, prog_name="snailtrail", standalone_mode=False)
    except SnailtrailError as exc:
        CliState.report_error(exc, json_output)
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        return 130
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        return 130
    except Exception as exc:
        # Usage errors: typer may vendor its own click, so recognise them by their interface.
        if callable(getattr(exc, "show", None)) and isinstance(getattr(exc, "exit_code", None), int):
            exc.show()
            return exc.exit_code
        converted = aws_error(exc)
        if converted is None:
            raise
        CliState.report_error(converted, json_output)
        return converted.exit_code
    return code if isinstance(code, int) else 0


def aws_error(exc: Exception) -> SnailtrailError | None:
    """botocore's failures, said as an operator needs them (without importing botocore up front)."""
    module = type(exc).__module__
    if not module.startswith(("botocore", "boto3")):
        return None
    name = type(exc).__name__
    if name in ("NoCredentialsError", "PartialCredentialsError", "ProfileNotFound", "NoRegionError"):
        return ConfigError(
            f"AWS credentials or profile problem: {exc}",
            fix="set AWS_PROFILE or the environment's profile, or use --env sandbox",
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError"):
        return SnailtrailError(
            f"AWS endpoint unreachable: {exc}",
            fix="check the network and the environment's endpoint_url; for the sandbox run `snailtrail sandbox status`",
        )
    if name == "ClientError":
        error = exc.response.get("Error", {})  # type: ignore[attr-defined]
        code = error.get("Code", "")
        if code in (
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "ExpiredToken",
            "UnrecognizedClientException",
            "InvalidClientTokenId",
        ):
            return ConfigError(
                f"AWS refused: {code}: {error.get('Message', '')}",
                fix="use credentials allowed by the policy `snailtrail iam-policy` prints",
            )
        return SnailtrailError(
            f"AWS answered {code}: {error.get('Message', '')}",
            fix="see the message; `snailtrail status` shows the service's state",
        )
    return SnailtrailError(f"{name}: {exc}")


def main() -> None:
    sys.exit(run(sys.argv[1:]))
