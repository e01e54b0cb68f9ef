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
from snailtrail.config.aws_rules import FARGATE_SIZES  # one table: what a kind: aws environment is refused too
from snailtrail.plan import container_graph

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
    """RegisterTaskDefinition: the containers' order, the Fargate rules and the execution role ECS needs."""
    containers: list[Mapping[str, Any]] = list(request.get("containerDefinitions") or [])
    check_container_dependencies(containers)
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


def check_container_dependencies(containers: list[Mapping[str, Any]]) -> None:
    """A task needs an essential container, and dependsOn names containers of the task, without a cycle.

    https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_definition_parameters.html#container_definition_essential:
    "All tasks must have at least one essential container"; ECS answers "Task definition doesn't have any
    essential container." (quoted in eagletmt/hako pull request 68). A dependency on a missing container:
    "Cannot depend on container + 'NAME' because it does not exist" (AWS's text, '+' and all, quoted in
    dagster-io/dagster issue 6926). A cycle can never start (API_ContainerDependency: a container starts
    after those it depends on); AWS publishes no text for it, so the message here is the sandbox's own.
    """
    if containers and not any(container_graph.essential(c) for c in containers):
        raise Refused(CLIENT_EXCEPTION, "Task definition doesn't have any essential container.")
    unknown = container_graph.unknown_dependency(containers)
    if unknown is not None:
        raise Refused(CLIENT_EXCEPTION, f"Cannot depend on container + '{unknown[1]}' because it does not exist")
    loop = container_graph.cycle(containers)
    if loop is not None:
        raise Refused(CLIENT_EXCEPTION, f"Container dependencies have a cycle: {' -> '.join(loop)}")
    # API_ContainerDependency: COMPLETE and SUCCESS "can't be set on an essential container"; AWS's text as
    # quoted in boto/boto3 issue 2436.
    if container_graph.exit_condition_on_essential(containers) is not None:
        raise Refused(
            CLIENT_EXCEPTION,
            "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
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


def check_container_overrides(overrides: Mapping[str, Any] | None, definition: Mapping[str, Any]) -> None:
    """RunTask: each containerOverrides entry names a container of the revision.

    https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerOverride.html ("name: The name of the
    container that receives the override"); wording as reported in django-ecsmanage#21.
    """
    names = {c.get("name") for c in definition.get("containerDefinitions") or []}
    for override in (overrides or {}).get("containerOverrides") or []:
        if override.get("name") not in names:
            raise Refused(
                INVALID_PARAMETER,
                f"Override for container named {override.get('name')} is not a container in the TaskDefinition.",
            )


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


# -- native service deployments (BLUE_GREEN, CANARY, LINEAR) ---------------------------------------------------
# Ranges from botocore's ecs model and the API reference's DeploymentConfiguration, CanaryConfiguration,
# LinearConfiguration and DeploymentLifecycleHook (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/).
NATIVE_STRATEGIES = ("BLUE_GREEN", "CANARY", "LINEAR")
MAX_BAKE_MINUTES = 1440


def _tenths(value: Any, low: float, high: float) -> bool:
    """A multiple of 0.1 within [low, high]."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return False
    return low <= number <= high and abs(round(number * 10) - number * 10) < 1e-6


def _bake(value: Any, field: str) -> None:
    if value is not None and not (isinstance(value, int) and 0 <= value <= MAX_BAKE_MINUTES):
        raise Refused(INVALID_PARAMETER, f"{field} must be between 0 and {MAX_BAKE_MINUTES} minutes.")


def check_deployment_configuration(
    configuration: Mapping[str, Any] | None,
    entries: Iterable[Mapping[str, Any]],
    rule_groups: Mapping[str, set[str]],
) -> None:
    """CreateService and UpdateService: a native strategy's settings in their documented ranges, and its load
    balancers' advancedConfiguration complete and matching the listener rules.

    ``rule_groups``: listener rule ARN -> the target groups its forward names (any weight).
    Sources: API reference CanaryConfiguration ("Valid values are multiples of 0.1 from 0.1 to 100.0"; bake "0 to
    1440 minutes"), LinearConfiguration ("multiples of 0.1 from 3.0 to 100.0"; bake "0 to 1440"),
    DeploymentConfiguration.bakeTimeInMinutes, DeploymentLifecycleHook.hookTargetArn ("not applicable for PAUSE
    hooks. You must provide this parameter when configuring an AWS_LAMBDA lifecycle hook"), and the developer
    guide's "Amazon ECS blue/green deployments" (the alternate target group, the listener rules and the role
    ECS calls Elastic Load Balancing with are required with a load balancer).
    """
    configuration = configuration or {}
    strategy = configuration.get("strategy") or "ROLLING"
    canary, linear = configuration.get("canaryConfiguration"), configuration.get("linearConfiguration")
    if canary is not None and strategy != "CANARY":
        raise Refused(INVALID_PARAMETER, "canaryConfiguration is only valid when the deployment strategy is CANARY.")
    if linear is not None and strategy != "LINEAR":
        raise Refused(INVALID_PARAMETER, "linearConfiguration is only valid when the deployment strategy is LINEAR.")
    if canary is not None:
        if "canaryPercent" in canary and not _tenths(canary["canaryPercent"], 0.1, 100.0):
            raise Refused(INVALID_PARAMETER, "canaryPercent must be a multiple of 0.1 from 0.1 to 100.0.")
        _bake(canary.get("canaryBakeTimeInMinutes"), "canaryBakeTimeInMinutes")
    if linear is not None:
        if "stepPercent" in linear and not _tenths(linear["stepPercent"], 3.0, 100.0):
            raise Refused(INVALID_PARAMETER, "stepPercent must be a multiple of 0.1 from 3.0 to 100.0.")
        _bake(linear.get("stepBakeTimeInMinutes"), "stepBakeTimeInMinutes")
    _bake(configuration.get("bakeTimeInMinutes"), "bakeTimeInMinutes")
    for hook in configuration.get("lifecycleHooks") or []:
        kind = hook.get("targetType") or "AWS_LAMBDA"
        if kind == "PAUSE" and hook.get("hookTargetArn"):
            raise Refused(INVALID_PARAMETER, "hookTargetArn is not applicable for PAUSE lifecycle hooks.")
        if kind == "AWS_LAMBDA" and not hook.get("hookTargetArn"):
            raise Refused(INVALID_PARAMETER, "hookTargetArn is required for AWS_LAMBDA lifecycle hooks.")
        if not hook.get("lifecycleStages"):
            raise Refused(INVALID_PARAMETER, "lifecycleStages must name at least one lifecycle stage.")
    if strategy in NATIVE_STRATEGIES:
        for entry in entries:
            _check_advanced(strategy, entry, rule_groups)


def _check_advanced(strategy: str, entry: Mapping[str, Any], rule_groups: Mapping[str, set[str]]) -> None:
    advanced = entry.get("advancedConfiguration")
    if not advanced:
        raise Refused(
            INVALID_PARAMETER,
            f"advancedConfiguration is required in loadBalancers for the {strategy} deployment strategy.",
        )
    for field in ("alternateTargetGroupArn", "productionListenerRule", "roleArn"):
        if not advanced.get(field):
            raise Refused(INVALID_PARAMETER, f"advancedConfiguration.{field} is required for {strategy} deployments.")
    groups = {entry.get("targetGroupArn"), advanced["alternateTargetGroupArn"]}
    if advanced["alternateTargetGroupArn"] == entry.get("targetGroupArn"):
        raise Refused(INVALID_PARAMETER, "The alternate target group must differ from the primary target group.")
    for field in ("productionListenerRule", "testListenerRule"):
        rule = advanced.get(field)
        if rule is None:
            continue
        forwarded = rule_groups.get(rule)
        if forwarded is None:
            raise Refused(INVALID_PARAMETER, f"advancedConfiguration.{field} {rule} does not exist.")
        if not groups <= forwarded:
            raise Refused(
                INVALID_PARAMETER,
                f"The listener rule {rule} must forward to both the primary and the alternate target group.",
            )


def check_continue(deployment: Any, hook_id: str | None) -> Any:
    """ContinueServiceDeployment acts on a deployment in progress, on a hook that waits (AWAITING_ACTION).

    API reference ContinueServiceDeployment: "Continues or rolls back an Amazon ECS service deployment that is
    paused at a lifecycle hook"; the hookId is "the ID of the paused lifecycle hook". Returns that hook."""
    if not deployment.in_progress or deployment.status != "IN_PROGRESS":
        raise Refused(INVALID_PARAMETER, f"The service deployment is {deployment.status}, not IN_PROGRESS.")
    hook = next((h for h in deployment.hooks if h.hook_id == hook_id), None)
    if hook is None:
        raise Refused(INVALID_PARAMETER, f"The lifecycle hook {hook_id} is not a hook of the current lifecycle stage.")
    if hook.status != "AWAITING_ACTION":
        raise Refused(INVALID_PARAMETER, f"The lifecycle hook {hook_id} is {hook.status}, not AWAITING_ACTION.")
    return hook
