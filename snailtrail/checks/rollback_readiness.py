"""Whether the rollback an incident would need can still be deployed, asked before the incident."""

from __future__ import annotations

from typing import Any

from snailtrail.checks.base import Verdict, fail, ok, warn
from snailtrail.checks.service import image_missing
from snailtrail.checks.spec import check
from snailtrail.checks.view import LiveView
from snailtrail.config.phases import Phase
from snailtrail.plan.taskdef import Revision
from snailtrail.state.history import current_deployment, rollback_choice


def _image_missing(view: LiveView, reference: str) -> str | None:
    """Why the image cannot be pulled any more, or None when it is there (or cannot be asked)."""
    if "@sha256:" not in reference:
        return None
    missing = image_missing(view, reference)
    return None if missing is None else f"its image {missing}"


def _target_problems(view: LiveView, target: Revision) -> list[str]:
    """What would make ECS refuse the target or fail its tasks: image, roles, secrets."""
    problems = []
    missing_image = _image_missing(view, target.image)
    if missing_image:
        problems.append(missing_image)
    for key in ("executionRoleArn", "taskRoleArn"):
        arn = target.definition.get(key)
        if arn and view.role(arn) is None:
            problems.append(f"its {key} {arn} does not exist")
    for secret in target.definition["containerDefinitions"][0].get("secrets", []):
        if not view.secret_exists(secret["valueFrom"]):
            problems.append(f"its secret {secret['name']} ({secret['valueFrom']}) does not exist")
    return problems


def _racing_rollbacks(service: dict[str, Any]) -> list[str]:
    """ECS features that roll back on their own to a revision snailtrail did not choose.

    Only a ROLLING service's circuit breaker does: it returns to the last COMPLETED deployment, verified or
    not (https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html), and
    snailtrail's own rollback to the last verified revision races it. CloudWatch alarm rollback is a safety
    net snailtrail sets itself (strategy.alarms), and a native deployment's rollbacks return to the revision
    that was live before it, which is what snailtrail would choose."""
    configuration = service.get("deploymentConfiguration") or {}
    notes = []
    rolling = configuration.get("strategy", "ROLLING") == "ROLLING"
    if rolling and (configuration.get("deploymentCircuitBreaker") or {}).get("rollback"):
        notes.append("the deployment circuit breaker's rollback is enabled on a ROLLING service")
    controller = (service.get("deploymentController") or {}).get("type", "ECS")
    if controller != "ECS":
        notes.append(f"the deployment controller is {controller}, not ECS rolling updates")
    return notes


@check(
    "rollback readiness",
    "service",
    prevents="an incident rollback failed: the verified revision was deregistered, or its image, role or "
    "secret was gone",
)
def rollback_readiness(view: LiveView, phase: Phase | None) -> Verdict:
    """The revision a rollback would return to is ACTIVE and its image digest, roles and secrets still exist; warns
    when a ROLLING service's own circuit-breaker rollback (which races snailtrail back to an unverified revision)
    is enabled, or the deployment controller is not ECS."""
    service = view.service()
    if service is None:
        return warn("no service: nothing to roll back", "deploy a phase")
    choice = rollback_choice(view.ctx, *current_deployment(service), describe_all=False, events=view.trail_events())
    default = choice.default
    racing = _racing_rollbacks(service)
    race_fix = (
        "set deploymentCircuitBreaker.rollback false on the ROLLING service (snailtrail rolls back to the last "
        "verified revision itself), or deploy it with a native strategy (blue-green, canary, linear), whose "
        "rollbacks return to the revision live before; keep the ECS deployment controller"
    )
    if default is None:
        skipped = "; ".join(f"{c.arn.rsplit('/', 1)[-1]}: {c.reason}" for c in choice.candidates if not c.eligible)
        return warn(
            "a failed deploy now would have nothing to roll back to" + (f" ({skipped})" if skipped else ""),
            "deploy and verify a phase; `snailtrail rollback --list` shows the candidates",
        )
    target = view.ctx.history.get(default.arn)
    label = f"{target.arn.rsplit('/', 1)[-1]} ({target.phase})"
    problems = _target_problems(view, target)
    resources = [target.arn, service["serviceArn"]]
    if problems:
        return fail(
            f"the rollback target {label} cannot run: {'; '.join(problems)}",
            "restore what it needs, or deploy and verify a phase that has it, so a rollback has a target",
            resources,
        )
    if racing:
        return warn(f"target {label} is ready, but {'; '.join(racing)}: ECS may roll back first", race_fix, resources)
    tagged = "" if "@sha256:" in target.image else " (its image is referenced by tag: not checked in the registry)"
    return ok(f"target {label} is ACTIVE; its image, roles and secrets exist{tagged}", resources)
