"""What the internet resolves, kept apart from Route 53.

On AWS a public name resolves through its registrar's delegation: when that points at another DNS
provider (or another hosted zone), users reach whatever those servers say while the Route 53 record
snailtrail reads looks right, and the reverse. The sandbox keeps such answers in a small file beside
its state file (written by the DNS drills, removed by `sandbox heal`); the DNS responder serves them
in place of Route 53's records for the same names.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from snailtrail.config.settings import Settings

Records = dict[str, tuple[str, list[str]]]  # name -> (type, values)


def public_dns_file(settings: Settings) -> Path:
    return settings.state_dir / f"public-dns-{settings.environment_name}.json"


class PublicDns:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._seen: tuple[float, Records] = (-1.0, {})  # the file's mtime and its records

    def records(self) -> Records:
        """The delegated answers, read again only when the file changed (the responder asks per query)."""
        try:
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return {}
        if mtime != self._seen[0]:
            loaded = json.loads(self.path.read_text())
            self._seen = (mtime, {name: (kind, values) for name, (kind, values) in loaded.items()})
        return self._seen[1]

    def delegate(self, name: str, kind: str, values: list[str]) -> None:
        """Make the internet answer ``name`` with this record, whatever Route 53 holds."""
        current = dict(self.records())
        current[name.lower().rstrip(".")] = (kind, values)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(json.dumps(current, indent=2))

    def clear(self) -> bool:
        """Back to resolving through Route 53; whether there was anything to clear."""
        existed = self.path.exists()
        self.path.unlink(missing_ok=True)
        return existed


def public_view(route53: Callable[[], Records], public: PublicDns) -> Callable[[], Records]:
    """The records a resolver on the internet gets: the delegated answers over Route 53's."""
    return lambda: route53() | public.records()
