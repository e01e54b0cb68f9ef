"""Options several commands share, declared once."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

BuildArgs = Annotated[
    Optional[list[str]],
    typer.Option(
        "--build-arg", help="KEY=VALUE added to the manifest's build args (repeatable), as docker build takes it."
    ),
]
DesiredCount = Annotated[
    Optional[int],
    typer.Option(
        "--desired-count",
        min=0,
        help="Run this many tasks. Default: the larger of the live count and the phase's, so a deploy or "
        "rollback never shrinks a service autoscaling grew (kept within its bounds).",
        show_default=False,
    ),
]
RolloutTimeout = Annotated[
    Optional[float],
    typer.Option(
        "--timeout",
        min=1,
        help="Seconds to wait for the rollout (default: what ECS needs, from the target group; plan says it).",
        show_default=False,
    ),
]
