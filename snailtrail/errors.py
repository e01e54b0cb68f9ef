"""Errors that carry the exit code of the command-line contract (cli-contract.md)."""

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
