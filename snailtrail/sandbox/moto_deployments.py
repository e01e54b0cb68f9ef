"""ECS's service deployments on moto: ListServiceDeployments, DescribeServiceDeployments,
ContinueServiceDeployment and StopServiceDeployment, and a service deployment opened by each
CreateService (moto_strict.py opens it) and each UpdateService that changes the revision (ROLLING ones
too, as ECS lists them).

One of the moto-bridging modules (moto_bridge.py says which): the deployments live on moto's service
objects (``service_deployments``), so tests' copies of moto's state carry them; native_deployments.py
holds the logic, and the reconciler drives them. Installed on moto's classes by ``install()``, so the
daemon's server and in-process ``mock_aws`` both answer the calls.
"""

from __future__ import annotations

import functools
import uuid
from datetime import UTC, datetime
from typing import Any

from moto.core.responses import ActionResult
from moto.ecs.exceptions import ECSException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, Service
from moto.ecs.responses import EC2ContainerServiceResponse

from snailtrail.sandbox import native_deployments
from snailtrail.sandbox.native_deployments import ServiceDeployment, deployment_arn, revision_arn

_installed = False


class ServiceDeploymentNotFoundException(ECSException):
    # botocore's ecs model: "The service deploy ARN that you specified in the StopServiceDeployment doesn't
    # exist. You can use ListServiceDeployments to retrieve the service deployment ARNs."
    def __init__(self) -> None:
        super().__init__(
            "ServiceDeploymentNotFoundException",
            "The service deploy ARN that you specified doesn't exist. "
            "You can use ListServiceDeployments to retrieve the service deployment ARNs.",
        )


class ConflictException(ECSException):
    # botocore's ecs model: "The request could not be processed because of conflict in the current state of the
    # resource."
    def __init__(self) -> None:
        super().__init__(
            "ConflictException",
            "The request could not be processed because of conflict in the current state of the resource.",
        )


def now() -> datetime:
    return datetime.now(UTC)


def deployments_of(service: Service) -> list[ServiceDeployment]:
    """The service's deployments, newest first."""
    if not hasattr(service, "service_deployments"):
        service.service_deployments = []
    return service.service_deployments  # type: ignore[no-any-return]


def revision_task_definitions(service: Service) -> dict[str, str]:
    """Service revision ARN -> its task definition: what a rollback puts back."""
    if not hasattr(service, "revision_task_definitions"):
        service.revision_task_definitions = {}
    return service.revision_task_definitions  # type: ignore[no-any-return]


def current(service: Service) -> ServiceDeployment | None:
    """The deployment in progress, if any."""
    return next((d for d in deployments_of(service) if d.in_progress), None)


def open_deployment(backend: EC2ContainerServiceBackend, service: Service) -> ServiceDeployment:
    """A new service deployment of the service's revision; one in progress is superseded (ECS stops it)."""
    history = deployments_of(service)
    previous = next((d for d in history if d.status in ("SUCCESSFUL", "ROLLBACK_SUCCESSFUL")), None)
    for running in [d for d in history if d.in_progress]:
        running.status, running.status_reason = "STOPPED", "Superseded by a newer service deployment."
        running.stopped_at = running.finished_at = now()
    source = []
    if previous is not None:
        source = [previous.rollback["serviceRevisionArn"] if previous.rollback else previous.target_revision]
    cluster = backend.clusters[service.cluster_name]
    target = revision_arn(service.arn, cluster.name, service.name)
    revision_task_definitions(service)[target] = service.task_definition
    configuration = dict(getattr(service, "deployment_configuration", None) or {})
    deployment = ServiceDeployment(
        deployment_arn(service.arn, cluster.name, service.name),
        service.arn,
        cluster.arn,
        configuration.get("strategy") or "ROLLING",
        configuration,
        target,
        source,
        now(),
        int(service.desired_count or 0),
    )
    history.insert(0, deployment)
    return deployment


def find(backend: EC2ContainerServiceBackend, arn: str) -> tuple[Service, ServiceDeployment] | None:
    for service in list(backend.services.values()):
        for deployment in deployments_of(service):
            if deployment.arn == arn:
                return service, deployment
    return None


def running_counts(service: Service, backend: EC2ContainerServiceBackend) -> dict[str, tuple[int, int]]:
    """Revision ARN -> (running, pending) tasks of the service, by the revision's task definition."""
    counts: dict[str, tuple[int, int]] = {}
    tasks = [
        t
        for t in list(backend.tasks.get(service.cluster_name, {}).values())
        if t.group == f"service:{service.name}" and t.last_status != "STOPPED"
    ]
    for revision, definition in revision_task_definitions(service).items():
        mine = [t for t in tasks if t.task_definition_arn == definition]
        counts[revision] = (
            sum(1 for t in mine if t.last_status == "RUNNING"),
            sum(1 for t in mine if t.last_status in ("PROVISIONING", "PENDING")),
        )
    return counts


def request_rollback(deployment: ServiceDeployment, reason: str) -> None:
    native_deployments.request_rollback(deployment, reason, now())


def stop(deployment: ServiceDeployment, reason: str) -> None:
    """A failed deployment without rollback: STOPPED ("the rollback option is not in use for the failure
    detection mechanism (the circuit breaker or alarm-based) and the service fails", ServiceDeployment.stoppedAt)."""
    deployment.status, deployment.status_reason = "STOPPED", reason
    deployment.stopped_at = deployment.finished_at = deployment.updated_at = now()


# -- the API ------------------------------------------------------------------------------------------
def list_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
    statuses = self._get_param("status") or []
    created = self._get_param("createdAt") or {}
    found = [d for d in deployments_of(service) if not statuses or d.status in statuses]
    if created.get("before") is not None:
        found = [d for d in found if d.created_at.timestamp() < float(created["before"])]
    if created.get("after") is not None:
        found = [d for d in found if d.created_at.timestamp() > float(created["after"])]
    limit = int(self._get_param("maxResults") or 20)
    if not 1 <= limit <= 100:
        raise InvalidParameterException("maxResults must be between 1 and 100.")
    start = int(self._get_param("nextToken") or 0)
    page = found[start : start + limit]
    answer: dict[str, Any] = {"serviceDeployments": [d.brief() for d in page]}
    if start + limit < len(found):
        answer["nextToken"] = str(start + limit)
    return ActionResult(answer)


def describe_service_deployments(self: EC2ContainerServiceResponse) -> ActionResult:
    arns = self._get_param("serviceDeploymentArns") or []
    if not arns or len(arns) > 20:
        raise InvalidParameterException("serviceDeploymentArns must name between 1 and 20 service deployments.")
    described, failures = [], []
    for arn in arns:
        found = find(self.ecs_backend, arn)
        if found is None:
            failures.append({"arn": arn, "reason": "MISSING"})
            continue
        service, deployment = found
        described.append(deployment.describe(running_counts(service, self.ecs_backend)))
    return ActionResult({"serviceDeployments": described, "failures": failures})


def continue_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    from snailtrail.sandbox import strict

    arn = self._get_param("serviceDeploymentArn")
    found = find(self.ecs_backend, arn)
    if found is None:
        raise ServiceDeploymentNotFoundException()
    _service, deployment = found
    hook_id, action = self._get_param("hookId"), self._get_param("action") or "CONTINUE"
    try:
        hook = strict.check_continue(deployment, hook_id)
    except strict.Refused as refusal:
        raise InvalidParameterException(refusal.message) from None
    if action == "ROLLBACK":
        request_rollback(deployment, "Service deployment rolled back by ContinueServiceDeployment (ROLLBACK).")
    else:
        hook.status = "SUCCEEDED"
        deployment.updated_at = now()
    return ActionResult({"serviceDeploymentArn": arn})


def stop_service_deployment(self: EC2ContainerServiceResponse) -> ActionResult:
    arn = self._get_param("serviceDeploymentArn")
    found = find(self.ecs_backend, arn)
    if found is None:
        raise ServiceDeploymentNotFoundException()
    _service, deployment = found
    if not deployment.in_progress or deployment.status in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        raise ConflictException()
    request_rollback(deployment, "Service deployment rolled back because of a stop request.")
    return ActionResult({"serviceDeploymentArn": arn})


def install() -> None:
    """The four calls on moto's ECS responses, and a service deployment for each create and revision change."""
    global _installed
    if _installed:
        return
    response = EC2ContainerServiceResponse
    response.list_service_deployments = list_service_deployments  # type: ignore[attr-defined]
    response.describe_service_deployments = describe_service_deployments  # type: ignore[attr-defined]
    response.continue_service_deployment = continue_service_deployment  # type: ignore[attr-defined]
    response.stop_service_deployment = stop_service_deployment  # type: ignore[attr-defined]
    backend = EC2ContainerServiceBackend
    # CreateService opens its deployment in moto_strict, once the parameters moto drops are kept.
    backend.update_service = _opening_on_update(backend.update_service)  # type: ignore[method-assign]
    _installed = True


def _opening_on_update(update: Any) -> Any:
    @functools.wraps(update)
    def update_service(self: EC2ContainerServiceBackend, properties: dict[str, Any]) -> Service:
        before = self._get_service(properties.get("cluster", "default"), properties["service"])
        revision = before.task_definition
        forced = bool(properties.get("force_new_deployment"))
        service = update(self, properties)
        if service.task_definition != revision or forced:
            open_deployment(self, service)
        return service

    return update_service


# -- what the reconciler's native deployments act on ------------------------------------------------------
def _balancing(service: Service) -> Any:
    from moto.elbv2.models import elbv2_backends

    return elbv2_backends[service._account_id][service.region_name]


def _rule(service: Service, rule_arn: str) -> Any:
    for balancer in list(_balancing(service).load_balancers.values()):
        for listener in list(balancer.listeners.values()):
            rule = listener._non_default_rules.get(rule_arn)
            if rule is not None:
                return rule
    return None


def rule_weights(service: Service, rule_arn: str) -> dict[str, int]:
    """Target group -> weight of the rule's forward, as ECS reads it to tell which group serves production."""
    rule = _rule(service, rule_arn)
    weights: dict[str, int] = {}
    for action in rule.actions if rule is not None else []:
        for group in (action.data.get("ForwardConfig") or {}).get("TargetGroups") or []:
            weights[group["TargetGroupArn"]] = int(group.get("Weight", 1))
    return weights


def set_rule_weights(service: Service, rule_arn: str, weights: dict[str, int]) -> None:
    """ECS's ModifyRule with the service's load-balancer role: the forward's weights, nothing else."""
    rule = _rule(service, rule_arn)
    if rule is None:
        return
    actions = [
        {
            **action.data,
            "ForwardConfig": {
                **(action.data.get("ForwardConfig") or {}),
                "TargetGroups": [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()],
            },
        }
        if action.data.get("Type") == "forward"
        else action.data
        for action in rule.actions
    ]
    _balancing(service).modify_rule(rule_arn, [], actions)


def alarms_in_alarm(service: Service, names: list[str]) -> list[str]:
    from moto.cloudwatch.models import cloudwatch_backends

    alarms = cloudwatch_backends[service._account_id][service.region_name].alarms
    return [name for name in names if name in alarms and alarms[name].state_value == "ALARM"]


def follow_rolling(service: Service, primary: dict[str, Any]) -> None:
    """A ROLLING deployment (or a service's first) follows the ECS deployment the reconciler rolls out."""
    deployment = current(service)
    if deployment is None or deployment.native:
        return
    if deployment.status in ("ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"):
        _roll_back_rolling(service, primary, deployment)
    elif primary["rolloutState"] == "COMPLETED":
        deployment.status, deployment.status_reason = "SUCCESSFUL", "Service deployment completed successfully."
        deployment.finished_at = deployment.updated_at = now()
    elif primary["rolloutState"] == "FAILED":
        breaker = (deployment.configuration.get("deploymentCircuitBreaker") or {}).get("rollback")
        deployment.breaker_failures = int(primary.get("failedTasks", 0))
        if breaker and deployment.source_revisions:
            request_rollback(deployment, primary["rolloutStateReason"])
            deployment.status = "ROLLBACK_SUCCESSFUL"
        else:
            deployment.status, deployment.status_reason = "STOPPED", primary["rolloutStateReason"]
        deployment.finished_at = deployment.stopped_at = now()


def _roll_back_rolling(service: Service, primary: dict[str, Any], deployment: ServiceDeployment) -> None:
    """StopServiceDeployment(ROLLBACK) of a ROLLING deployment: ECS rolls the service back to the source service
    revision ("ROLLBACK - Roll back the service deployment to the previous service revision", StopServiceDeployment),
    a rolling deployment of the old revision again, and says ROLLBACK_SUCCESSFUL once it is steady."""
    source = revision_task_definitions(service).get((deployment.rollback or {}).get("serviceRevisionArn", ""))
    if source is None or not deployment.source_revisions:  # a service's first deployment has nothing to go back to
        stop(deployment, "There is no previous service revision to roll back to.")
        return
    if deployment.status == "ROLLBACK_REQUESTED":
        previous = next((d for d in service.deployments if d is not primary and d["taskDefinition"] == source), None)
        if previous is None:  # the old revision's deployment is gone: deploy it again
            previous = dict(primary, id=f"ecs-svc/{uuid.uuid4().int % 10**19:019d}", taskDefinition=source)
            service.deployments.append(previous)
        previous.update(status="PRIMARY", rolloutState="IN_PROGRESS", updatedAt=now())
        primary.update(status="ACTIVE", rolloutState="FAILED", rolloutStateReason=deployment.status_reason)
        service.deployments.sort(key=lambda d: d["status"] != "PRIMARY")
        service.task_definition = source
        deployment.status, deployment.updated_at = "ROLLBACK_IN_PROGRESS", now()
    elif primary["taskDefinition"] == source and primary["rolloutState"] == "COMPLETED":
        deployment.status, deployment.status_reason = "ROLLBACK_SUCCESSFUL", "Service deployment rolled back."
        deployment.finished_at = deployment.updated_at = now()
