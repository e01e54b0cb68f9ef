"""The image steps of a deploy: build, smoke-test, push and register, with what each produced."""

from __future__ import annotations

from dataclasses import dataclass, field

from snailtrail.aws.ecs import TAG_DIGEST, TAG_FINGERPRINT, TAG_PHASE, TAG_REVISION
from snailtrail.config.phases import Phase
from snailtrail.context import Context
from snailtrail.plan.source_revision import git_revision
from snailtrail.plan.steps import StepFailed
from snailtrail.plan.taskdef import fingerprint, render
from snailtrail.run import images
from snailtrail.run.smoke import smoke as smoke_image
from snailtrail.run.task_credentials import local_task_environment
from snailtrail.state.schema import schema_tags


@dataclass
class Artifacts:
    """What the image steps produced so far: the local build, the pushed reference and its digest."""

    image: str = ""  # the reference the task definition names (--image, or the push's)
    digest: str = ""
    local_tag: str | None = None
    image_id: str | None = None
    sidecar_builds: dict[str, images.BuiltImage] | None = None  # the other containers' own builds, by name
    sidecar_images: dict[str, str] = field(default_factory=dict)  # ... and what their definitions name

    def built(self, ctx: Context, phase: Phase) -> images.BuiltImage:
        """This run's build, or with --no-build the image built earlier for this phase and revision."""
        if self.local_tag is None or self.image_id is None:
            earlier = images.existing(ctx.settings, phase)
            self.local_tag, self.image_id = earlier.local_tag, earlier.image_id
        return images.BuiltImage(self.local_tag, self.image_id)

    def sidecars_built(self, ctx: Context, phase: Phase) -> dict[str, images.BuiltImage]:
        """The other containers' builds (this run's, or with --no-build the earlier ones), by container name."""
        if self.sidecar_builds is None:
            app = self.built(ctx, phase)
            owners = images.sidecar_builds(phase)
            self.sidecar_builds = {
                name: app if owner is None else images.existing(ctx.settings, phase, owner)
                for name, owner in owners.items()
            }
        return self.sidecar_builds


def build(ctx: Context, phase: Phase, artifacts: Artifacts, build_args: dict[str, str]) -> str:
    built = images.build(ctx.settings, phase, ctx.reporter.detail, build_args)
    artifacts.local_tag, artifacts.image_id = built.local_tag, built.image_id
    artifacts.sidecar_builds = images.build_sidecars(ctx.settings, phase, ctx.reporter.detail, built, build_args)
    others = sorted({b.local_tag for b in artifacts.sidecar_builds.values()} - {built.local_tag})
    return f"built {built.local_tag} ({built.image_id[:19]})" + "".join(f", {tag}" for tag in others)


def smoke(ctx: Context, phase: Phase, artifacts: Artifacts) -> str:
    image = artifacts.image or artifacts.built(ctx, phase).local_tag
    spec = phase.container
    timeout = max(30.0, float(spec.health_check.grace_period_s))
    sidecars = {} if artifacts.image else {n: b.local_tag for n, b in artifacts.sidecars_built(ctx, phase).items()}
    result = smoke_image(
        image, ctx.settings, phase, timeout, ctx.reporter.detail, sidecars, local_task_environment(ctx)
    )
    if not result.ok:
        raise StepFailed(
            f"smoke test failed: {result.summary}",
            fix="the image must listen on $PORT (the task definition's container port) and answer "
            f"{spec.health_check.path} with 200",
        )
    if result.seconds_to_healthy is not None and result.seconds_to_healthy > spec.health_check.grace_period_s:
        ctx.reporter.warn(
            f"the image took {result.seconds_to_healthy:.1f} s to become healthy, longer than "
            f"the health-check grace period ({spec.health_check.grace_period_s} s)"
        )
    return result.summary


def push(ctx: Context, phase: Phase, artifacts: Artifacts) -> str:
    built = artifacts.built(ctx, phase)
    pushed = images.publish(built, ctx.settings, ctx.clients, ctx.endpoints.registry, ctx.reporter)
    artifacts.image, artifacts.digest = pushed.reference, pushed.digest
    artifacts.sidecar_images = images.publish_sidecars(
        built,
        pushed.reference,
        artifacts.sidecars_built(ctx, phase),
        ctx.settings,
        ctx.clients,
        ctx.endpoints.registry,
        ctx.reporter,
    )
    others = "".join(f", {r}" for r in sorted(set(artifacts.sidecar_images.values()) - {pushed.reference}))
    if pushed.registry is None:
        return f"no registry: the local engine's {pushed.reference}{others} used ({pushed.digest[:19]})"
    return f"pushed {pushed.reference}{others}"


def register(ctx: Context, phase: Phase, artifacts: Artifacts, running: str | None) -> tuple[str, str]:
    """The revision to deploy, registered unless an identical one exists: (its ARN, what was done)."""
    rendered = render(ctx.settings, phase, artifacts.image, artifacts.sidecar_images)
    identical = ctx.history.find_identical(rendered, phase.name, running)
    if identical is not None:
        return identical.arn, f"identical definition exists: reusing {identical.arn}"
    digest = artifacts.digest or artifacts.image.partition("@")[2] or "unknown"
    tags = {
        TAG_PHASE: phase.name,
        TAG_DIGEST: digest,
        TAG_REVISION: git_revision(ctx.settings.root),
        TAG_FINGERPRINT: fingerprint(rendered),
    } | schema_tags(phase)
    arn = ctx.ecs.register_task_definition(rendered, tags)["taskDefinitionArn"]
    ctx.history.add_tags(arn, tags)
    return arn, f"registered {arn}"
