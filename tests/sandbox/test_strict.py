"""The sandbox's moto refuses what ECS refuses, with ECS's error code and message, and accepts the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

ROLE = "arn:aws:iam::123456789012:role/shine-task-execution"
ECR_IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine:1"
NO_FARGATE = (
    "No Fargate configuration exists for given values: {}. See the Amazon ECS documentation for the valid values."
)
CONTAINER = {"name": "app", "image": "fake.local/shine:1", "portMappings": [{"containerPort": 8000}]}


@dataclass
class Account:
    ecs: Any
    elbv2: Any
    vpc: str
    subnet: str
    security_group: str
    ip_group: str
    instance_group: str
    listener: str  # forwards to both groups above


@pytest.fixture
def account(aws_env: None) -> Iterator[Account]:
    from moto import mock_aws

    with mock_aws():
        ec2 = boto3.client("ec2", region_name="us-east-1")
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
        security_group = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
        elbv2 = boto3.client("elbv2", region_name="us-east-1")

        def group(name: str, kind: str) -> str:
            return elbv2.create_target_group(Name=name, Protocol="HTTP", Port=8000, VpcId=vpc, TargetType=kind)[
                "TargetGroups"
            ][0]["TargetGroupArn"]

        ip_group, instance_group = group("shine-ip", "ip"), group("shine-instance", "instance")
        balancer = elbv2.create_load_balancer(Name="shine-alb", Subnets=[subnet])["LoadBalancers"][0]
        listener = elbv2.create_listener(
            LoadBalancerArn=balancer["LoadBalancerArn"],
            Protocol="HTTP",
            Port=80,
            DefaultActions=[forward({ip_group: 90, instance_group: 10})],
        )["Listeners"][0]["ListenerArn"]
        ecs = boto3.client("ecs", region_name="us-east-1")
        ecs.create_cluster(clusterName="shine")
        yield Account(ecs, elbv2, vpc, subnet, security_group, ip_group, instance_group, listener)


def forward(weights: dict[str, int]) -> dict[str, Any]:
    groups = [{"TargetGroupArn": arn, "Weight": weight} for arn, weight in weights.items()]
    return {"Type": "forward", "ForwardConfig": {"TargetGroups": groups}}


def fargate(**overrides: Any) -> dict[str, Any]:
    """A Fargate task definition AWS accepts, with these keys replaced (None removes one)."""
    definition = {
        "family": "shine",
        "requiresCompatibilities": ["FARGATE"],
        "networkMode": "awsvpc",
        "cpu": "256",
        "memory": "512",
        "containerDefinitions": [CONTAINER],
    } | overrides
    return {k: v for k, v in definition.items() if v is not None}


def refused(call: Callable[[], Any], code: str, message: str) -> None:
    with pytest.raises(ClientError) as answer:
        call()
    assert answer.value.response["Error"]["Code"] == code
    assert answer.value.response["Error"]["Message"] == message


def awsvpc(account: Account, public_ip: str) -> dict[str, Any]:
    return {"subnets": [account.subnet], "securityGroups": [account.security_group], "assignPublicIp": public_ip}


def service(account: Account, arn: str, **overrides: Any) -> dict[str, Any]:
    """CreateService as snailtrail sends it, with these keys replaced (None removes one)."""
    request = {
        "cluster": "shine",
        "serviceName": "shine",
        "taskDefinition": arn,
        "desiredCount": 1,
        "launchType": "FARGATE",
        "networkConfiguration": {"awsvpcConfiguration": awsvpc(account, "ENABLED")},
        "loadBalancers": [{"targetGroupArn": account.ip_group, "containerName": "app", "containerPort": 8000}],
    } | overrides
    return account.ecs.create_service(**{k: v for k, v in request.items() if v is not None})["service"]


def register(account: Account, **overrides: Any) -> str:
    return account.ecs.register_task_definition(**fargate(**overrides))["taskDefinition"]["taskDefinitionArn"]


@pytest.mark.parametrize(
    "container, message",
    [
        (
            CONTAINER | {"image": ECR_IMAGE},
            "Fargate requires task definition to have execution role ARN to support ECR images.",
        ),
        (
            CONTAINER | {"logConfiguration": {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shine"}}},
            "Fargate requires task definition to have execution role ARN to support log driver awslogs.",
        ),
        (
            CONTAINER | {"secrets": [{"name": "TOKEN", "valueFrom": "arn:aws:ssm:us-east-1:123456789012:parameter/t"}]},
            "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
        ),
    ],
    ids=["ecr image", "awslogs", "secrets"],
)
def test_what_needs_the_execution_role_is_refused_without_one(
    account: Account, container: dict[str, Any], message: str
) -> None:
    refused(lambda: register(account, containerDefinitions=[container]), "ClientException", message)
    assert register(account, containerDefinitions=[container], executionRoleArn=ROLE).endswith(":1")


def test_secrets_need_the_execution_role_on_ec2_too(account: Account) -> None:
    container = CONTAINER | {
        "memory": 512,
        "secrets": [{"name": "T", "valueFrom": "arn:aws:ssm:us-east-1:1:parameter/t"}],
    }
    refused(
        lambda: account.ecs.register_task_definition(family="shine", containerDefinitions=[container]),
        "ClientException",
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.",
    )
    accepted = account.ecs.register_task_definition(
        family="shine", containerDefinitions=[container], executionRoleArn=ROLE
    )
    assert accepted["taskDefinition"]["revision"] == 1


def test_images_outside_ecr_need_no_execution_role(account: Account) -> None:
    assert register(account).endswith("shine:1")


@pytest.mark.parametrize(
    "cpu, memory, message",
    [
        ("256", "4096", NO_FARGATE.format("256 CPU, 4096 memory")),
        ("512", "512", NO_FARGATE.format("512 CPU, 512 memory")),
        ("2048", "4608", NO_FARGATE.format("2048 CPU, 4608 memory")),
        ("8192", "18432", NO_FARGATE.format("8192 CPU, 18432 memory")),
        ("300", "1024", "Invalid 'cpu' setting for task."),
    ],
)
def test_cpu_and_memory_outside_fargates_table_are_refused(
    account: Account, cpu: str, memory: str, message: str
) -> None:
    refused(lambda: register(account, cpu=cpu, memory=memory), "ClientException", message)


@pytest.mark.parametrize(
    "cpu, memory",
    [
        ("256", "2048"),
        ("512", "3072"),
        ("1024", "8192"),
        ("2048", "16384"),
        ("4096", "30720"),
        ("8192", "61440"),
        ("16384", "32768"),
        ("1 vCPU", "2 GB"),
    ],
)
def test_cpu_and_memory_in_fargates_table_are_accepted(account: Account, cpu: str, memory: str) -> None:
    assert register(account, cpu=cpu, memory=memory).endswith("shine:1")


@pytest.mark.parametrize("field", ["cpu", "memory"])
def test_fargate_needs_task_level_cpu_and_memory(account: Account, field: str) -> None:
    container = CONTAINER | {"memory": 512}
    refused(
        lambda: register(account, containerDefinitions=[container], **{field: None}),
        "ClientException",
        f"Fargate requires that '{field}' be defined at the task level.",
    )


@pytest.mark.parametrize("mode", ["bridge", None])
def test_fargate_needs_awsvpc(account: Account, mode: str | None) -> None:
    refused(
        lambda: register(account, networkMode=mode),
        "ClientException",
        "Fargate only supports network mode \u2018awsvpc\u2019.",
    )


def test_awsvpc_services_need_ip_target_groups(account: Account) -> None:
    arn = register(account)
    entry = {"targetGroupArn": account.instance_group, "containerName": "app", "containerPort": 8000}
    refused(
        lambda: service(account, arn, loadBalancers=[entry]),
        "InvalidParameterException",
        f"The provided target group {account.instance_group} has target type instance, which is incompatible "
        "with the awsvpc network mode specified in the task definition.",
    )
    assert service(account, arn)["loadBalancers"][0]["targetGroupArn"] == account.ip_group


@pytest.mark.parametrize("launch_type", ["EC2", None])
def test_public_ips_only_with_fargate(account: Account, launch_type: str | None) -> None:
    arn = register(account, requiresCompatibilities=["EC2"])
    refused(
        lambda: service(account, arn, launchType=launch_type),
        "InvalidParameterException",
        "Assign public IP is not supported for this launch type.",
    )
    private = {"awsvpcConfiguration": awsvpc(account, "DISABLED")}
    assert service(account, arn, launchType=launch_type, networkConfiguration=private)["status"] == "ACTIVE"


def test_a_service_cannot_move_to_a_deregistered_revision_but_keeps_scaling(account: Account) -> None:
    first = register(account)
    second = register(account)
    service(account, second)
    account.ecs.deregister_task_definition(taskDefinition=first)
    refused(
        lambda: account.ecs.update_service(cluster="shine", service="shine", taskDefinition=first),
        "InvalidParameterException",
        "TaskDefinition is inactive",
    )
    refused(
        lambda: service(account, first, serviceName="other"), "InvalidParameterException", "TaskDefinition is inactive"
    )
    account.ecs.deregister_task_definition(taskDefinition=second)
    scaled = account.ecs.update_service(cluster="shine", service="shine", desiredCount=3)["service"]
    assert (scaled["desiredCount"], scaled["taskDefinition"]) == (3, second)


@pytest.mark.parametrize(
    "entry, message",
    [
        ({"containerName": "web", "containerPort": 8000}, "The container web does not exist in the task definition."),
        (
            {"containerName": "app", "containerPort": 8080},
            "The container app did not have a container port 8080 defined.",
        ),
    ],
)
def test_load_balancer_entries_name_a_mapped_container_port(
    account: Account, entry: dict[str, Any], message: str
) -> None:
    arn = register(account)
    entries = [entry | {"targetGroupArn": account.ip_group}]
    refused(lambda: service(account, arn, loadBalancers=entries), "InvalidParameterException", message)


def test_an_update_to_a_revision_without_the_balanced_port_is_refused(account: Account) -> None:
    """Incident 10: the service's load-balancer entry named a port the new revision did not map; the update failed."""
    service(account, register(account))
    moved = register(account, containerDefinitions=[CONTAINER | {"portMappings": [{"containerPort": 8080}]}])
    refused(
        lambda: account.ecs.update_service(cluster="shine", service="shine", taskDefinition=moved),
        "InvalidParameterException",
        "The container app did not have a container port 8000 defined.",
    )
    same_port = register(account, containerDefinitions=[CONTAINER | {"image": "fake.local/shine:2"}])
    updated = account.ecs.update_service(cluster="shine", service="shine", taskDefinition=same_port)["service"]
    assert updated["taskDefinition"] == same_port


def test_modify_listener_replaces_the_whole_action_list(account: Account) -> None:
    only = {"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "503", "ContentType": "text/plain"}}
    account.elbv2.modify_listener(ListenerArn=account.listener, DefaultActions=[only])
    actions = account.elbv2.describe_listeners(ListenerArns=[account.listener])["Listeners"][0]["DefaultActions"]
    assert [a["Type"] for a in actions] == ["fixed-response"]
    assert actions[0]["FixedResponseConfig"]["StatusCode"] == "503"


def test_a_service_registers_only_in_a_target_group_a_listener_forwards_to(account: Account) -> None:
    arn = register(account)
    loose = account.elbv2.create_target_group(
        Name="shine-loose", Protocol="HTTP", Port=8000, VpcId=account.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    entries = [{"targetGroupArn": loose, "containerName": "app", "containerPort": 8000}]
    refused(
        lambda: service(account, arn, loadBalancers=entries),
        "InvalidParameterException",
        f"The target group with targetGroupArn {loose} does not have an associated load balancer.",
    )
    account.elbv2.modify_listener(ListenerArn=account.listener, DefaultActions=[forward({loose: 1})])
    assert service(account, arn, loadBalancers=entries)["loadBalancers"][0]["targetGroupArn"] == loose


def test_a_fargate_service_runs_only_fargate_compatible_revisions(account: Account) -> None:
    service(account, register(account))
    ec2_only = register(account, requiresCompatibilities=None, containerDefinitions=[CONTAINER | {"memory": 512}])
    refused(
        lambda: account.ecs.update_service(cluster="shine", service="shine", taskDefinition=ec2_only),
        "InvalidParameterException",
        "Task definition does not support launch_type FARGATE.",
    )
    refused(
        lambda: service(account, ec2_only, serviceName="other"),
        "InvalidParameterException",
        "Task definition does not support launch_type FARGATE.",
    )


def test_a_created_service_keeps_its_grace_period_and_deployment_configuration(account: Account) -> None:
    """ECS returns what CreateService was given; verify's grace-period and rollback checks read both."""
    deployment = {
        "deploymentCircuitBreaker": {"enable": True, "rollback": False},
        "maximumPercent": 200,
        "minimumHealthyPercent": 100,
    }
    created = service(account, register(account), healthCheckGracePeriodSeconds=45, deploymentConfiguration=deployment)

    described = account.ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
    assert created["healthCheckGracePeriodSeconds"] == described["healthCheckGracePeriodSeconds"] == 45
    assert described["deploymentConfiguration"] == deployment


def test_a_target_group_only_a_listener_rule_forwards_to_is_in_use_for_the_control_and_data_planes(
    account: Account,
) -> None:
    """ECS accepts it and the ALB health-checks it: CreateService's rule and the health checks agree."""
    from snailtrail.sandbox.moto_network import network_state
    from snailtrail.sandbox.network import NetworkView

    ruled = account.elbv2.create_target_group(
        Name="shine-ruled", Protocol="HTTP", Port=8000, VpcId=account.vpc, TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    account.elbv2.create_rule(
        ListenerArn=account.listener,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/v2/*"]}}],
        Actions=[forward({ruled: 1})],
    )
    entries = [{"targetGroupArn": ruled, "containerName": "app", "containerPort": 8000}]

    assert service(account, register(account), loadBalancers=entries)["loadBalancers"][0]["targetGroupArn"] == ruled
    assert NetworkView(network_state("us-east-1")).balancers_using(ruled) == ["shine-alb"]


SIDECAR = {"name": "metrics", "image": "fake.local/metrics:1", "memory": 128}


@pytest.mark.parametrize(
    "containers, message",
    [
        (
            [CONTAINER | {"essential": False}, SIDECAR | {"essential": False}],
            "Task definition doesn't have any essential container.",
        ),
        (
            [CONTAINER | {"dependsOn": [{"containerName": "modles", "condition": "SUCCESS"}]}, SIDECAR],
            "Cannot depend on container + 'modles' because it does not exist",
        ),
        (
            [
                CONTAINER | {"dependsOn": [{"containerName": "metrics", "condition": "START"}]},
                SIDECAR | {"dependsOn": [{"containerName": "app", "condition": "START"}]},
            ],
            "Container dependencies have a cycle: app -> metrics -> app",
        ),
        (
            [CONTAINER | {"dependsOn": [{"containerName": "metrics", "condition": "SUCCESS"}]}, SIDECAR],
            "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container",
        ),
    ],
    ids=["no essential container", "unknown dependency", "cycle", "success of an essential container"],
)
def test_a_task_whose_containers_cannot_start_is_refused(
    account: Account, containers: list[dict[str, Any]], message: str
) -> None:
    refused(lambda: register(account, containerDefinitions=containers), "ClientException", message)


def test_a_task_of_several_containers_in_dependency_order_is_accepted(account: Account) -> None:
    containers = [
        CONTAINER | {"dependsOn": [{"containerName": "models", "condition": "SUCCESS"}]},
        SIDECAR | {"name": "models", "essential": False},
        SIDECAR | {"dependsOn": [{"containerName": "app", "condition": "START"}]},
    ]
    arn = register(account, containerDefinitions=containers)
    described = account.ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    assert [c["name"] for c in described["containerDefinitions"]] == ["app", "models", "metrics"]
    assert described["containerDefinitions"][0]["dependsOn"] == [{"containerName": "models", "condition": "SUCCESS"}]
