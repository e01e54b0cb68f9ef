"""Whether the sandbox can serve what the phases need, as the daemon found it when starting.

The daemon writes one entry per part into its state file; ``sandbox up`` (and every command that
starts or reuses the sandbox) refuses a sandbox with a failed part, and ``sandbox status`` shows them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from snailtrail.errors import ConfigError

PARTS = ("engine", "registry", "seed", "task_aws_api")


@dataclass(frozen=True)
class Readiness:
    ok: bool
    detail: str
    fix: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def unready(readiness: dict[str, dict[str, Any]]) -> ConfigError | None:
    """The error naming every failed part and its fix, or None when all are ready.

    A state without an entry for a part (a daemon that did not report it) counts as failed:
    nothing is assumed to work.
    """
    failed = {part: readiness.get(part) or {"detail": "not reported by the sandbox daemon"} for part in PARTS}
    failed = {part: entry for part, entry in failed.items() if not entry.get("ok")}
    if not failed:
        return None
    return ConfigError(
        "the sandbox cannot serve the phases:\n"
        + "\n".join(f"  {part}: {entry['detail']}" for part, entry in failed.items()),
        fix="; ".join(
            [
                *dict.fromkeys(entry["fix"] for entry in failed.values() if entry.get("fix")),
                "then restart the sandbox: `snailtrail sandbox down`, `snailtrail sandbox up`",
            ]
        ),
    )
