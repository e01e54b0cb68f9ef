"""Turn pydantic validation errors into one ConfigError naming the file, field path and fix."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from snailtrail.errors import ConfigError
from snailtrail.redaction import looks_like_secret_name, secret_in_value

ModelT = TypeVar("ModelT", bound=BaseModel)


def refuse_plain_secrets(variables: dict[str, str], fix: str) -> dict[str, str]:
    """Values that sit in a file checked into git: none may be named like a secret or look like one.
    The message names the variable and what it looks like, never the value."""
    for name, value in variables.items():
        if looks_like_secret_name(name):
            raise ValueError(f"'{name}' looks like a secret; {fix}")
        found = secret_in_value(value)
        if found is not None:
            raise ValueError(f"the value of '{name}' looks like a secret ({found}); {fix}")
    return variables


# NAME=value, NAME: value (also --name=value): the value is masked when NAME says it is a secret.
_ASSIGNMENT = re.compile(r"(?P<name>[A-Za-z_][A-Za-z0-9_.-]*)(?P<sep>=|: ?)(?P<value>\S+)")


def redact(text: str) -> str:
    """``NAME=value`` and ``NAME: value`` with a name that says its value is a secret, the value masked."""

    def mask(match: re.Match[str]) -> str:
        if looks_like_secret_name(match["name"].lstrip("-")):
            return f"{match['name']}{match['sep']}***"
        return match[0]

    return _ASSIGNMENT.sub(mask, text)


def redact_command(command: list[str]) -> list[str]:
    """The command as the trail and the output show it: a secret's value masked, also after ``--password``."""
    shown: list[str] = []
    for argument in command:
        secret_flag = bool(shown) and shown[-1].startswith("-") and looks_like_secret_name(shown[-1].lstrip("-"))
        shown.append("***" if secret_flag and "=" not in shown[-1] else redact(argument))
    return shown


def _field_path(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for item in loc:
        if isinstance(item, int):
            parts.append(f"[{item}]")
        else:
            parts.append(("." if parts else "") + str(item))
    return "".join(parts) or "(top level)"


def _fix_for(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return "remove it, or check its spelling against the documented keys"
    if kind == "missing":
        return "add it"
    if kind.endswith("_type") or kind.endswith("_parsing"):
        return f"give a value of the right type ({error['msg'].lower()})"
    return "correct the value"


def validate_model(model: type[ModelT], data: dict[str, Any], source: Path) -> ModelT:
    """Validate ``data`` against ``model``; every problem is listed with its field path."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        lines = []
        for error in exc.errors()[:10]:
            lines.append(f"{source}: {_field_path(error['loc'])}: {error['msg']} (fix: {_fix_for(error)})")
        first = exc.errors()[0]
        raise ConfigError("\n".join(lines), fix=f"edit {source}: {_fix_for(first)}") from None
