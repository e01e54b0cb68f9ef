"""Installs strict.py's rules on moto's ECS backend: moto refuses what ECS refuses, and keeps what ECS keeps.

One of the moto-bridging modules (moto_bridge.py lists them) that reach into moto's in-process models;
strict.py holds the rules and knows nothing of moto.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

from moto.ecs.exceptions import EcsClientException, InvalidParameterException
from moto.ecs.models import EC2ContainerServiceBackend, TaskDefinition
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.elbv2.models import elbv2_backends
from moto.s3.responses import ACTION_MAP as S3_ACTIONS

from snailtrail.sandbox import moto_cloudformation, moto_deployments, strict
from snailtrail.sandbox.moto_network import forwarded_target_groups, rule_target_groups

_strict = False


def enable_strict_mode() -> None:
    """moto refuses, with ECS's own error code and message, every request strict.py says ECS refuses.

    Installed on moto's backend classes, so the daemon's server and in-process ``mock_aws`` both get it.
    """
    global _strict
    if _strict:
        return
    moto_cloudformation.install()
    backend = EC2ContainerServiceBackend
    backend.register_task_definition = _refusing(backend.register_task_definition, _check_registration)  # type: ignore[method-assign]
    backend.create_service = _refusing(backend.create_service, _check_creation)  # type: ignore[method-assign]
    backend.update_service = _refusing(backend.update_service, _check_update)  # type: ignore[method-assign]
    backend.run_task = _refusing(backend.run_task, _check_run_task)  # type: ignore[method-assign]
    EC2ContainerServiceResponse.create_service = _keeping_create_parameters(  # type: ignore[method-assign]
        EC2ContainerServiceResponse.create_service
    )
    moto_deployments.install()
    # HeadBucket is authorized by s3:ListBucket (there is no s3:HeadBucket action); moto asks for s3:HeadBucket.
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html
    S3_ACTIONS["BUCKET"]["HEAD"]["DEFAULT"] = "ListBucket"
    _strict = True


# CreateService parameters ECS keeps and DescribeServices returns, which moto 5 drops on create (its
# UpdateService keeps every parameter it is given): without them a service the sandbox created looked
# like one with no grace period and ECS's default deployment configuration.
# https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
KEPT_ON_CREATE = {
    "healthCheckGracePeriodSeconds": "health_check_grace_period_seconds",
    "deploymentConfiguration": "deployment_configuration",
}


def _keeping_create_parameters(create: Any) -> Any:
    @functools.wraps(create)
    def create_service(self: EC2ContainerServiceResponse) -> Any:
        _refuse(
            strict.check_deployment_configuration,
            self._get_param("deploymentConfiguration"),
            self._get_param("loadBalancers") or [],
            _rules(self.ecs_backend),
        )
        result = create(self)
        service = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("serviceName"))
        for parameter, attribute in KEPT_ON_CREATE.items():
            value = self._get_param(parameter)
            if value is not None:
                setattr(service, attribute, value)
        moto_deployments.open_deployment(self.ecs_backend, service)
        return result

    return create_service


def _refuse(check: Any, *arguments: Any) -> None:
    """``check(*arguments)``; a refusal becomes moto's ECS error."""
    try:
        check(*arguments)
    except strict.Refused as refusal:
        if refusal.code == strict.CLIENT_EXCEPTION:
            raise EcsClientException(refusal.message) from None
        raise InvalidParameterException(refusal.message) from None


def _rules(backend: EC2ContainerServiceBackend) -> dict[str, set[str]]:
    balancing = elbv2_backends[backend.account_id][backend.region_name]
    return rule_target_groups(list(balancing.load_balancers.values()))


def _refusing(method: Any, check: Any) -> Any:
    """``method`` preceded by ``check(backend, arguments by name)``; a refusal becomes moto's ECS error."""
    signature = inspect.signature(method)

    @functools.wraps(method)
    def wrapper(self: EC2ContainerServiceBackend, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        try:
            check(self, arguments)
        except strict.Refused as refusal:
            if refusal.code == strict.CLIENT_EXCEPTION:
                raise EcsClientException(refusal.message) from None
            raise InvalidParameterException(refusal.message) from None
        return method(self, *args, **kwargs)

    return wrapper


def _check_registration(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    strict.check_task_definition(
        {
            "requiresCompatibilities": arguments.get("requires_compatibilities"),
            "networkMode": arguments.get("network_mode"),
            "cpu": arguments.get("cpu"),
            "memory": arguments.get("memory"),
            "executionRoleArn": arguments.get("execution_role_arn"),
            "containerDefinitions": arguments["container_definitions"],
        }
    )


def _check_creation(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    strict.check_public_ip(arguments.get("launch_type"), arguments.get("network_configuration"))
    if not arguments.get("task_definition_str"):
        return
    definition = _definition(backend.describe_task_definition(arguments["task_definition_str"]))
    strict.check_revision_active(definition)
    strict.check_launch_type(arguments.get("launch_type"), definition)
    entries = arguments.get("load_balancers") or []
    groups = _target_groups(backend)
    strict.check_load_balancers(entries, definition, groups)
    strict.check_target_groups_attached(entries, groups)


def _check_update(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    properties = arguments["service_properties"]  # UpdateService's parameters, in moto's snake_case
    service = backend._get_service(properties.get("cluster", "default"), properties["service"])
    strict.check_public_ip(service.launch_type, properties.get("network_configuration"))
    strict.check_deployment_configuration(
        properties.get("deployment_configuration") or getattr(service, "deployment_configuration", None),
        properties.get("load_balancers") or service.load_balancers,
        _rules(backend),
    )
    if not properties.get("task_definition") and not properties.get("load_balancers"):
        return  # scaling a service keeps its revision, even one deregistered since
    definition = _definition(
        backend.describe_task_definition(properties.get("task_definition") or service.task_definition)
    )
    if properties.get("task_definition"):
        strict.check_revision_active(definition)
        strict.check_launch_type(service.launch_type, definition)
    groups = _target_groups(backend)
    strict.check_load_balancers(properties.get("load_balancers") or service.load_balancers, definition, groups)
    strict.check_target_groups_attached(properties.get("load_balancers") or [], groups)


def _check_run_task(backend: EC2ContainerServiceBackend, arguments: dict[str, Any]) -> None:
    strict.check_public_ip(arguments.get("launch_type"), arguments.get("networking_configuration"))
    definition = _definition(backend.describe_task_definition(arguments["task_definition_str"]))
    strict.check_revision_active(definition)
    strict.check_launch_type(arguments.get("launch_type"), definition)
    strict.check_container_overrides(arguments.get("overrides"), definition)


def _definition(model: TaskDefinition) -> dict[str, Any]:
    """The parts of a registered task definition the service rules read, in the API's shape."""
    return {
        "status": model.status,
        "compatibilities": model.compatibilities,
        "networkMode": model.network_mode,
        "containerDefinitions": model.container_definitions,
    }


def _target_groups(backend: EC2ContainerServiceBackend) -> dict[str, strict.TargetGroup]:
    """The account's target groups, each with whether a listener or rule forwards to it now.

    moto's own record (``load_balancer_arns``) misses ModifyListener, so the listeners are read instead.
    """
    balancing = elbv2_backends[backend.account_id][backend.region_name]
    forwarded = set().union(*(forwarded_target_groups(b) for b in list(balancing.load_balancers.values())))
    return {
        arn: strict.TargetGroup(group.target_type, arn in forwarded)
        for arn, group in list(balancing.target_groups.items())
    }
