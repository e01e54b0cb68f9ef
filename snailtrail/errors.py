"""Errors that carry the exit code of the command-line contract (docs/contract.md)."""

from __future__ import annotations


class SnailtrailError(Exception):
    """Base error: a message for the operator, the fix, and the exit code."""

    exit_code = 1

    def __init__(self, message: str, fix: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix


class ConfigError(SnailtrailError):
    """Usage or configuration error: nothing was changed anywhere."""

    exit_code = 2


class DeployFailed(SnailtrailError):
    """A check or the deployment failed (and, for deploy, the rollback verified)."""

    exit_code = 1


class RollbackFailed(SnailtrailError):
    """The rollback failed or could not be verified: the service needs a human now."""

    exit_code = 3


class LockHeld(SnailtrailError):
    """Another deploy holds the lock."""

    exit_code = 4


def operator_error(exc: Exception) -> SnailtrailError:
    """Any failure from below (botocore, docker, the OS), said as an operator needs it.

    Recognised by module name, so that neither botocore nor docker is imported to ask.
    """
    if isinstance(exc, SnailtrailError):
        return exc
    module, name = type(exc).__module__, type(exc).__name__
    if module.startswith(("botocore", "boto3")):
        return _aws_error(exc, name)
    if module.startswith(("docker", "requests", "urllib3")):
        return DeployFailed(f"Docker engine: {exc}", fix="check the engine (docker info) and the image reference")
    if isinstance(exc, FileNotFoundError | PermissionError | IsADirectoryError | NotADirectoryError):
        target = f" {exc.filename}" if exc.filename else ""
        return ConfigError(f"{exc.strerror or exc}:{target}", fix="check the path and its permissions")
    return SnailtrailError(f"unexpected {name}: {exc}", fix="run again with --verbose; report it if it persists")


def _aws_error(exc: Exception, name: str) -> SnailtrailError:
    if name in ("UnauthorizedSSOTokenError", "SSOTokenLoadError", "TokenRetrievalError", "SSOError"):
        return ConfigError(
            f"the AWS SSO session has expired or cannot be read: {exc}",
            fix="run `aws sso login --profile PROFILE` (the profile in AWS_PROFILE or the environment's), then retry",
        )
    if name in ("NoCredentialsError", "PartialCredentialsError"):
        return ConfigError(
            f"no AWS credentials: {exc}",
            fix="export AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), set the environment's profile, "
            "or use --env sandbox",
        )
    if name in ("ProfileNotFound", "NoRegionError"):
        return ConfigError(
            f"AWS profile or region problem: {exc}",
            fix="name an existing profile (aws configure list-profiles) and set the environment's region",
        )
    if name in ("EndpointConnectionError", "ConnectTimeoutError", "ReadTimeoutError", "ConnectionClosedError"):
        return SnailtrailError(
            f"AWS endpoint unreachable: {exc}",
            fix="check the network and the environment's endpoint_url; for the sandbox run `snailtrail sandbox status`",
        )
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # ClientError and the per-service exceptions modelled on it
        error = response.get("Error", {})
        code = error.get("Code", "")
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("ExpiredToken", "ExpiredTokenException", "RequestExpired"):
            return ConfigError(
                f"AWS refused expired credentials: {code}: {error.get('Message', '')}",
                fix="refresh them: `aws sso login`, or assume the role again (CI: re-run the credentials step)",
            )
        if status == 403 or code in (
            "AccessDenied",
            "AccessDeniedException",
            "UnauthorizedOperation",
            "UnrecognizedClientException",
            "InvalidClientTokenId",
        ):
            return ConfigError(
                f"AWS refused: {code}: {error.get('Message', '')}", fix="use credentials whose policy allows this call"
            )
        return SnailtrailError(
            f"AWS answered {code}: {error.get('Message', '')}",
            fix="see the message; `snailtrail status` shows the service's state",
        )
    return SnailtrailError(f"{name}: {exc}")
