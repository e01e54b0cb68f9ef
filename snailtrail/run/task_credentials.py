"""The AWS credentials a task's containers get when snailtrail runs them on this machine (smoke).

On ECS a task's containers get its task role's credentials from the agent. Locally, the established practice
(Amazon's ecs-local-container-endpoints, which `ecs-cli local` uses) derives them from the operator's: the
environment's task role assumed with the operator's credentials (STS AssumeRole: the role's trust policy must
let the operator's identity assume it), else temporary credentials of the operator's own session (STS
GetSessionToken; a session whose credentials are temporary already gives those). They reach the containers
as the standard variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) with the region
(AWS_REGION, AWS_DEFAULT_REGION), last the shortest time STS gives (15 minutes), are masked in everything
snailtrail prints or records (redaction.mask_everywhere: output, JSON, errors, the trail), and snailtrail
writes them nowhere. A sandbox environment's containers get what the sandbox gives its own tasks (its AWS
API and its stand-in key).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from snailtrail.config.settings import EnvironmentKind
from snailtrail.context import Context
from snailtrail.errors import SnailtrailError
from snailtrail.redaction import mask_everywhere

SESSION_NAME = "snailtrail-local-task"  # RoleSessionName: 2-64 characters of [\w+=,.@-]
DURATION_S = 900  # the shortest AssumeRole and GetSessionToken give


class TaskCredentialsUnavailable(SnailtrailError):
    """The containers cannot be given credentials: nothing ran."""


def local_task_environment(ctx: Context) -> dict[str, str]:
    """The variables a task's containers run with here, as its role's credentials on ECS."""
    if ctx.settings.environment.kind is EnvironmentKind.sandbox:
        return dict(ctx.endpoints.task_environment)
    role = ctx.settings.task_role_arn
    try:
        credentials = _assumed(ctx, role) if role else _session_temporary(ctx)
    except (ClientError, BotoCoreError) as exc:
        raise _refused(ctx, role, exc) from exc
    for value in credentials.values():
        mask_everywhere(value)
    return credentials | {"AWS_REGION": ctx.clients.region, "AWS_DEFAULT_REGION": ctx.clients.region}


def _variables(issued: dict[str, Any]) -> dict[str, str]:
    """STS's Credentials as the SDKs' variables."""
    return {
        "AWS_ACCESS_KEY_ID": issued["AccessKeyId"],
        "AWS_SECRET_ACCESS_KEY": issued["SecretAccessKey"],
        "AWS_SESSION_TOKEN": issued["SessionToken"],
    }


def _assumed(ctx: Context, role: str) -> dict[str, str]:
    answer = ctx.clients.client("sts").assume_role(
        RoleArn=role, RoleSessionName=SESSION_NAME, DurationSeconds=DURATION_S
    )
    return _variables(answer["Credentials"])


def _session_temporary(ctx: Context) -> dict[str, str]:
    own = ctx.clients.session_credentials()
    if own is None:
        raise TaskCredentialsUnavailable(
            "no AWS credentials to give the task's containers",
            fix="export credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
            "or set the environment's profile",
        )
    if own.token:  # temporary already (a role's session, SSO, OIDC): GetSessionToken refuses those
        variables = {"AWS_ACCESS_KEY_ID": own.access_key, "AWS_SECRET_ACCESS_KEY": own.secret_key}
        return variables | {"AWS_SESSION_TOKEN": own.token}
    # Long-lived keys never reach a container: temporary ones of the same identity do.
    return _variables(ctx.clients.client("sts").get_session_token(DurationSeconds=DURATION_S)["Credentials"])


def _refused(ctx: Context, role: str | None, exc: Exception) -> TaskCredentialsUnavailable:
    error = exc.response.get("Error", {}) if isinstance(exc, ClientError) else {}
    why = f"{error.get('Code', type(exc).__name__)}: {error.get('Message', str(exc))}"
    if role:
        return TaskCredentialsUnavailable(
            f"could not assume the task role {role} to give the task's containers its credentials ({why})",
            fix=f"let your identity assume it (a statement in {role.rsplit('/', 1)[-1]}'s trust policy "
            f"naming your role or user, and sts:AssumeRole allowed to you), or leave smoke out (--skip-smoke); "
            f"environments.{ctx.settings.environment_name}.task_role_arn names the role",
        )
    return TaskCredentialsUnavailable(
        f"could not get temporary credentials for the task's containers ({why})",
        fix="allow sts:GetSessionToken to your identity, or use a role's credentials (AWS_PROFILE of a role)",
    )
