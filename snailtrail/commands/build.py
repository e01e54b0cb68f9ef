"""snailtrail build PHASE, push PHASE, smoke PHASE: the first steps of deploy on their own."""

from __future__ import annotations

from typing import Optional

import typer

from snailtrail.commands.options import BuildArgs
from snailtrail.global_options import GlobalOptions


def build(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="The phase to build."),
    build_arg: BuildArgs = None,
) -> None:
    """Build the phase's image with the docker SDK (build args from the manifest; BASE_IMAGE from
    $SNAILTRAIL_BASE_IMAGE; an extra CA from $SNAILTRAIL_EXTRA_CA_CERT).
    """
    from snailtrail.images import build as build_image
    from snailtrail.images import parse_build_args

    state: GlobalOptions = ctx.obj
    context = state.context()
    built = build_image(context.settings, context.phase(phase), context.reporter.detail, parse_build_args(build_arg))
    state.output(
        {"ok": True, "image": built.local_tag, "image_id": built.image_id},
        f"built {built.local_tag} ({built.image_id})",
    )


def push(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="The phase to push."),
    build_arg: BuildArgs = None,
) -> None:
    """Build and push the phase's image to the environment's registry; prints the digest reference the task definition
    will use.
    """
    from snailtrail import images

    state: GlobalOptions = ctx.obj
    context = state.context()
    selected = context.phase(phase)
    built = images.build(context.settings, selected, context.reporter.detail, images.parse_build_args(build_arg))
    from snailtrail.account_guard import require_account

    require_account(context)
    pushed = images.publish(built, context.settings, context.clients, context.endpoints.registry, context.reporter)
    state.output({"ok": True, "image": pushed.reference, "digest": pushed.digest}, pushed.reference)


def smoke(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="The phase to smoke-test."),
    image: Optional[str] = typer.Option(None, "--image", help="Test this image instead of building it."),
    timeout: float = typer.Option(60.0, "--timeout", min=1, help="Seconds to wait for the health path."),
    build_arg: BuildArgs = None,
) -> None:
    """Run the phase's image locally with the task definition's environment and probe the declared container port and
    health path; reports time-to-healthy, or which port the app really listens on.
    """
    from snailtrail import images

    state: GlobalOptions = ctx.obj
    context = state.context()
    selected = context.phase(phase)
    reference = (
        image
        or images.build(
            context.settings, selected, context.reporter.detail, images.parse_build_args(build_arg)
        ).local_tag
    )
    result = images.smoke(reference, context.settings, selected, timeout, context.reporter.detail)
    state.output(
        {
            "ok": result.ok,
            "summary": result.summary,
            "seconds_to_healthy": result.seconds_to_healthy,
            "listening_ports": list(result.listening_ports),
        },
        ("✓ " if result.ok else "✗ ") + result.summary,
    )
    if not result.ok:
        raise typer.Exit(1)
