"""How a verify check is declared: ``@check`` records its name, layer and the incidents it answers,
once, and the function's docstring says what it looks at; the check function returns only its
verdict and the runner names the result.

The check modules import this module; catalogue.py imports them, so the two never import each other.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from snailtrail.checks.base import Verdict

if TYPE_CHECKING:
    from snailtrail.checks.view import LiveView
    from snailtrail.config.phases import Phase

LAYERS = ("dns", "load balancer", "listener", "target group", "network", "service", "task", "container", "app")
CheckFunction = Callable[["LiveView", "Phase | None"], Verdict]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    layer: str
    prevents: str  # the incidents of docs/incidents.md it answers, numbers first
    describes: str
    run: CheckFunction


DECLARED: list[CheckSpec] = []


def check(name: str, layer: str, *, prevents: str) -> Callable[[CheckFunction], CheckFunction]:
    """Declare a check; the catalogue is data that `verify --list` prints and docs/checks.md mirrors."""
    assert layer in LAYERS, layer

    def declare(function: CheckFunction) -> CheckFunction:
        assert function.__doc__, f"check {name} needs a docstring: verify --list prints it"
        describes = " ".join((function.__doc__ or "").split())  # the docstring as one line
        DECLARED.append(CheckSpec(name, layer, prevents, describes, function))
        return function

    return declare
