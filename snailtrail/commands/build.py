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
    from snailtrail.run.images import build as build_image
    from snailtrail.run.images import parse_build_args

    state: GlobalOptions = ctx.obj
    context = state.context(needs_aws=False)  # a local build: no AWS call
    selected = context.phase(phase)
    extra_build_args = parse_build_args(build_arg, context.settings, selected)
    built = build_image(context.settings, selected, context.reporter.detail, extra_build_args)
    state.output(
        {"ok": True, "image": built.local_tag, "image_id": built.image_id},
        f"built {built.local_tag} ({built.image_id})",
    )


def push(
    ctx: typer.Context,
    phase: str = typer.Argument(..., help="The phase to push."),
    build_arg: BuildArgs = None,
) -> None:
    """Build and push the phase's image (and its other containers' own images) to the environment's registry; prints
    the digest reference the task definition will use.
    """
    from snailtrail.run import images

    state: GlobalOptions = ctx.obj
    context = state.context(needs_aws=False)
    selected = context.phase(phase)
    extra = images.parse_build_args(build_arg, context.settings, selected)
    context.require_aws()
    built = images.build(context.settings, selected, context.reporter.detail, extra)
    from snailtrail.infra.account_guard import require_account

    require_account(context)
    pushed = images.publish(built, context.settings, context.clients, context.endpoints.registry, context.reporter)
    others = images.publish_sidecars(
        built,
        pushed.reference,
        images.build_sidecars(context.settings, selected, context.reporter.detail, built, extra),
        context.settings,
        context.clients,
        context.endpoints.registry,
        context.reporter,
    )
    state.output(
        {"ok": True, "image": pushed.reference, "digest": pushed.digest, "containers": others},
        "\n".join([pushed.reference, *(f"{name}: {reference}" for name, reference in others.items())]),
    )


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
    from snailtrail.run import images, smoke
    from snailtrail.run.task_credentials import local_task_environment

    state: GlobalOptions = ctx.obj
    # Runs the image on the local engine; its one AWS call (an aws environment's) is STS's, for the credentials
    # the task's containers get (task_credentials.py).
    context = state.context(needs_aws=False)
    selected = context.phase(phase)
    sidecars: dict[str, str] = {}
    if image:
        reference = image
    else:
        extra = images.parse_build_args(build_arg, context.settings, selected)
        built = images.build(context.settings, selected, context.reporter.detail, extra)
        reference = built.local_tag
        others = images.build_sidecars(context.settings, selected, context.reporter.detail, built, extra)
        sidecars = {name: other.local_tag for name, other in others.items()}
    result = smoke.smoke(
        reference,
        context.settings,
        selected,
        timeout,
        context.reporter.detail,
        sidecars,
        local_task_environment(context),
    )
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
