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
