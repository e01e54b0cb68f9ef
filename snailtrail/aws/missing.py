"""A read's answer, or None where AWS answers that the resource does not exist."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from botocore.exceptions import ClientError

T = TypeVar("T")


def none_if_missing(code: str, read: Callable[[], T]) -> T | None:
    """Each API names its own "not found" error code (the Errors of its API reference); only that one
    means missing: a refusal or throttling is raised, for the caller to report as such."""
    try:
        return read()
    except ClientError as exc:
        if exc.response["Error"]["Code"] == code:
            return None
        raise
