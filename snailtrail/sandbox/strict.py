"""What ECS refuses and moto accepts: the rules the sandbox's control plane enforces.

Each rule reads a request in the API's own shape (camelCase keys, as boto3 sends it) and raises
``Refused`` with the error code and message AWS answers, so a deploy the sandbox accepts is one
AWS accepts too. moto_strict installs the rules on moto's backends and turns ``Refused`` into
moto's own exceptions; this module knows nothing of moto. docs/sandbox.md lists every rule with
what moto alone does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from snailtrail.aws.ecr import ecr_registry  # every host of an ECR registry (FIPS, dual-stack)
from snailtrail.aws_rules import FARGATE_SIZES  # one table: what a kind: aws environment is refused too

CLIENT_EXCEPTION = "ClientException"
INVALID_PARAMETER = "InvalidParameterException"


@dataclass(frozen=True)
class TargetGroup:
    """What the service rules read of a target group."""

    target_type: str
    forwarded_to: bool  # a listener or rule of some load balancer forwards to it


class Refused(Exception):
    """AWS's answer to a request it does not accept: its error code and message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _units(value: Any, unit: str, per_unit: int) -> int | None:
    """'1024', '1 vCPU' or '2 GB' as ECS converts them at registration (None: not a size)."""
    match = re.fullmatch(rf"\s*(\d+(?:\.\d+)?)\s*({unit})?\s*", str(value), flags=re.IGNORECASE)
    if match is None:
        return None
    number = float(match.group(1)) * (per_unit if match.group(2) else 1)
    return int(number) if number.is_integer() else None


def check_task_definition(request: Mapping[str, Any]) -> None:
    """RegisterTaskDefinition: the Fargate rules and the execution role ECS needs to start the tasks."""
    containers: list[Mapping[str, Any]] = list(request.get("containerDefinitions") or [])
    fargate = "FARGATE" in (request.get("requiresCompatibilities") or [])
    if fargate:
        _check_fargate(request)
    if request.get("executionRoleArn"):
        return
    # Secrets are fetched by the execution role on either launch type.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/secrets-envvar-secrets-manager.html
    # AWS: "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'."
    if any(c.get("secrets") for c in containers):
        raise Refused(
            CLIENT_EXCEPTION,
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        )
    if not fargate:
        return
    # On Fargate the execution role pulls ECR images and writes awslogs streams.
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
    if any("/" in str(c.get("image", "")) and ecr_registry(str(c["image"])) for c in containers):
        raise Refused(
            CLIENT_EXCEPTION, "Fargate requires task definition to have execution role ARN to support ECR images."
        )
    if any((c.get("logConfiguration") or {}).get("logDriver") == "awslogs" for c in containers):
        raise Refused(
            CLIENT_EXCEPTION,
            "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
        )


def _check_fargate(request: Mapping[str, Any]) -> None:
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/fargate-task-networking.html
    # AWS: "Fargate only supports network mode ‘awsvpc’." (its own quotes)
    if request.get("networkMode") != "awsvpc":
        raise Refused(CLIENT_EXCEPTION, "Fargate only supports network mode \u2018awsvpc\u2019.")
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RegisterTaskDefinition.html (cpu, memory:
    # "If you're using the Fargate launch type, this field is required")
    for field in ("cpu", "memory"):
        if request.get(field) in (None, ""):
            raise Refused(CLIENT_EXCEPTION, f"Fargate requires that '{field}' be defined at the task level.")
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html
    cpu = _units(request["cpu"], "vcpu", 1024)
    memory = _units(request["memory"], "gb", 1024)
    if cpu not in FARGATE_SIZES:
        raise Refused(CLIENT_EXCEPTION, "Invalid 'cpu' setting for task.")
    if memory not in FARGATE_SIZES[cpu]:
        raise Refused(
            CLIENT_EXCEPTION,
            f"No Fargate configuration exists for given values: {request['cpu']} CPU, {request['memory']} memory. "
            "See the Amazon ECS documentation for the valid values.",
        )


def check_revision_active(definition: Mapping[str, Any]) -> None:
    """CreateService and UpdateService: no service moves to a deregistered revision.

    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DeregisterTaskDefinition.html: "You can't use an
    INACTIVE task definition to run new tasks or create new services, and you can't update an existing service
    to reference an INACTIVE task definition." AWS answers "TaskDefinition is inactive".
    """
    if definition.get("status") == "INACTIVE":
        raise Refused(INVALID_PARAMETER, "TaskDefinition is inactive")


def check_launch_type(launch_type: str | None, definition: Mapping[str, Any]) -> None:
    """A Fargate service runs only a revision registered as Fargate-compatible.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#requires_compatibilities:
    the task definition is validated against the launch types it requires, and ``compatibilities`` says which
    ones it passed; a copy that drops requiresCompatibilities is EC2-only.
    """
    if launch_type == "FARGATE" and "FARGATE" not in (definition.get("compatibilities") or []):
        raise Refused(INVALID_PARAMETER, "Task definition does not support launch_type FARGATE.")


def check_public_ip(launch_type: str | None, network_configuration: Mapping[str, Any] | None) -> None:
    """Only Fargate tasks get a public IP on their ENI.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-networking-awsvpc.html (EC2: "task elastic
    network interfaces aren't given public IP addresses"). A service without a launch type runs on EC2 unless a
    capacity provider says otherwise (CreateService's launchType).
    """
    awsvpc = (network_configuration or {}).get("awsvpcConfiguration") or {}
    if awsvpc.get("assignPublicIp") == "ENABLED" and (launch_type or "EC2") != "FARGATE":
        raise Refused(INVALID_PARAMETER, "Assign public IP is not supported for this launch type.")


def check_load_balancers(
    entries: Iterable[Mapping[str, Any]], definition: Mapping[str, Any], target_groups: Mapping[str, TargetGroup]
) -> None:
    """Each loadBalancers[] entry names a container and a port the task definition maps; awsvpc needs ip targets.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html: with awsvpc "you must choose ip as the
    target type, not instance"; https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-load-balancing.html:
    "If you update the task definition for the service, the container name and container port that were specified
    when the service was created must remain in the task definition." ``target_groups`` is keyed by ARN.
    """
    containers = {c.get("name"): c for c in definition.get("containerDefinitions") or []}
    for entry in entries:
        name = entry.get("containerName")
        container = containers.get(name)
        if container is None:
            raise Refused(INVALID_PARAMETER, f"The container {name} does not exist in the task definition.")
        port = entry.get("containerPort")
        if port not in [m.get("containerPort") for m in container.get("portMappings") or []]:
            raise Refused(INVALID_PARAMETER, f"The container {name} did not have a container port {port} defined.")
        arn = entry.get("targetGroupArn")
        group = target_groups.get(arn) if arn else None
        if definition.get("networkMode") == "awsvpc" and group is not None and group.target_type != "ip":
            raise Refused(
                INVALID_PARAMETER,
                f"The provided target group {arn} has target type {group.target_type}, which is incompatible with "
                "the awsvpc network mode specified in the task definition.",
            )


def check_target_groups_attached(
    entries: Iterable[Mapping[str, Any]], target_groups: Mapping[str, TargetGroup]
) -> None:
    """A service registers its tasks only in target groups a load balancer forwards to.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb.html: the target group is created with, and
    reached through, the load balancer's listener. AWS: "The target group with targetGroupArn ARN does not have an
    associated load balancer." (reported for CreateService, e.g. terraform-aws-ecs-fargate#43).
    """
    for entry in entries:
        arn = entry.get("targetGroupArn")
        group = target_groups.get(arn) if arn else None
        if group is not None and not group.forwarded_to:
            raise Refused(
                INVALID_PARAMETER,
                f"The target group with targetGroupArn {arn} does not have an associated load balancer.",
            )
