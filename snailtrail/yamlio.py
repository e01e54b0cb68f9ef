"""Safe YAML loading with errors that name the file and the line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from snailtrail.errors import ConfigError

MAX_FILE_BYTES = 1_000_000


def load_yaml_mapping(path: Path) -> dict[str, Any]:
    """Load one YAML document that must be a mapping; never constructs arbitrary objects."""
    if not path.is_file():
        raise ConfigError(f"{path}: file not found", fix="check the path, or pass --config PATH")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(
            f"{path}: larger than {MAX_FILE_BYTES} bytes", fix="a configuration file is small; check the path"
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text ({exc.reason})", fix="save the file as UTF-8") from None
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}, column {mark.column + 1}"
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{path}: invalid YAML{where}: {problem}", fix="fix the YAML syntax there") from None
    if not isinstance(data, dict):
        raise ConfigError(
            f"{path}: expected a mapping at the top level, got {type(data).__name__}",
            fix="the file must hold `key: value` pairs",
        )
    return data
