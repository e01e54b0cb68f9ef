"""Before any change to a `kind: aws` environment: the credentials belong to the environment's account.

A stray AWS_PROFILE or an exported key of another account would otherwise deploy there.
"""

from __future__ import annotations

from typing import Any

from snailtrail.config.settings import EnvironmentKind
from snailtrail.errors import ConfigError


def require_account(context: Any) -> None:
    """Refuses (exit 2, nothing changed) credentials whose GetCallerIdentity account is not ``account_id``.

    An environment without ``account_id`` is told to set one, and is not refused: doctor warns about it too.
    """
    settings = context.settings
    environment = settings.environment
    if environment.kind is not EnvironmentKind.aws:
        return
    from snailtrail.aws.account import AccountApi

    caller = AccountApi(context.clients).caller()
    field = f"environments.{settings.environment_name}.account_id"
    if environment.account_id is None:
        context.reporter.warn(f"{field} is not set: changing account {caller['Account']} as {caller['Arn']} unchecked")
        return
    if caller["Account"] != environment.account_id:
        raise ConfigError(
            f"the credentials are of account {caller['Account']} ({caller['Arn']}), and {field} is "
            f"{environment.account_id}: nothing was changed",
            fix="use credentials of that account (unset a stray AWS_PROFILE or AWS_ACCESS_KEY_ID, or pick the "
            "environment's profile), or correct account_id",
        )
