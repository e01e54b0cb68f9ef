"""Create the environment a configuration describes, idempotently, through the public AWS API.

Used by ``sandbox up`` against moto's server and by the tests against in-process moto: VPC with
public subnets routed to an internet gateway, the ALB and task security groups (with the
ALB-to-task rule on the container port), ALB, the primary and alternate target groups, the production
and test listeners with the service's rule on each, cluster, ECR repository, the execution role and
the load-balancer role the configuration names, Route 53 zone and record, the state table and the
model bucket.
"""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.config.settings import Settings

VPC_CIDR = "10.42.0.0/16"
# What ECS's own execution role trusts and is granted: pull from ECR, write awslogs streams.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task_execution_IAM_role.html
ECS_TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
# AmazonECSTaskExecutionRolePolicy's statement, inline: moto does not load AWS's managed policies.
EXECUTION_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "ecr:GetAuthorizationToken",
                "ecr:BatchCheckLayerAvailability",
                "ecr:GetDownloadUrlForLayer",
                "ecr:BatchGetImage",
                "logs:CreateLogStream",
                "logs:PutLogEvents",
            ],
            "Resource": "*",
        }
    ],
}


@dataclass(frozen=True)
class Provisioned:
    vpc_id: str
    subnet_ids: list[str]
    alb_security_group: str
    task_security_group: str
    load_balancer_arn: str
    load_balancer_dns: str
    target_group_arn: str
    listener_arn: str


def _name_tag(name: str, kind: str) -> list[dict[str, Any]]:
    return [{"ResourceType": kind, "Tags": [{"Key": "Name", "Value": name}]}]


def _find_by_name(items: list[dict[str, Any]], name: str) -> dict[str, Any] | None:
    for item in items:
        if any(t["Key"] == "Name" and t["Value"] == name for t in item.get("Tags", [])):
            return item
    return None


def provision(
    clients: AwsClients,
    settings: Settings,
    container_port: int,
    health_path: str,
    health_interval_s: int = 5,
    deregistration_delay_s: int = 5,
) -> Provisioned:
    """``deregistration_delay_s``: how long replaced tasks drain; short, where ECS's default 300 s would make
    every sandbox deploy wait five minutes."""
    service = settings.service
    ec2 = clients.client("ec2")
    name = service.name

    vpc = _find_by_name(
        ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [f"{name}-vpc"]}])["Vpcs"], f"{name}-vpc"
    )
    if vpc is None:
        vpc = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=_name_tag(f"{name}-vpc", "vpc"))["Vpc"]
        ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsSupport={"Value": True})
        ec2.modify_vpc_attribute(VpcId=vpc["VpcId"], EnableDnsHostnames={"Value": True})
    vpc_id = vpc["VpcId"]

    gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
    if gateways["InternetGateways"]:
        igw_id = gateways["InternetGateways"][0]["InternetGatewayId"]
    else:
        igw_id = ec2.create_internet_gateway(TagSpecifications=_name_tag(f"{name}-igw", "internet-gateway"))[
            "InternetGateway"
        ]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)

    tables = ec2.describe_route_tables(Filters=[{"Name": "tag:Name", "Values": [f"{name}-public"]}])["RouteTables"]
    if tables:
        route_table = tables[0]["RouteTableId"]
    else:
        route_table = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=_name_tag(f"{name}-public", "route-table")
        )["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=route_table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)

    existing = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnet_ids = []
    zones = [f"{settings.environment.region}{z}" for z in "abcdef"]
    for index, subnet_name in enumerate(n for n in service.network.subnets if not n.startswith("subnet-")):
        subnet = _find_by_name(existing, subnet_name)
        if subnet is None:
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"10.42.{index}.0/24",
                AvailabilityZone=zones[index % 6],
                TagSpecifications=_name_tag(subnet_name, "subnet"),
            )["Subnet"]
            ec2.associate_route_table(RouteTableId=route_table, SubnetId=subnet["SubnetId"])
        subnet_ids.append(subnet["SubnetId"])

    lb = service.load_balancer
    groups = ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["SecurityGroups"]
    alb_sg = _security_group(ec2, groups, vpc_id, lb.security_group or f"{name}-alb", "load balancer")
    task_sg_name = next((n for n in service.network.security_groups if not n.startswith("sg-")), f"{name}-tasks")
    task_sg = _security_group(ec2, groups, vpc_id, task_sg_name, "service tasks")
    _allow(
        ec2,
        alb_sg,
        {
            "IpProtocol": "tcp",
            "FromPort": lb.listener_port,
            "ToPort": lb.listener_port,
            "IpRanges": [{"CidrIp": "0.0.0.0/0", "Description": "public listener"}],
        },
    )
    _allow(
        ec2,
        task_sg,
        {
            "IpProtocol": "tcp",
            "FromPort": container_port,
            "ToPort": container_port,
            "UserIdGroupPairs": [{"GroupId": alb_sg, "Description": "load balancer to tasks"}],
        },
    )

    elb = clients.client("elbv2")
    try:
        balancer = elb.describe_load_balancers(Names=[lb.name])["LoadBalancers"][0]
    except ClientError:
        balancer = elb.create_load_balancer(
            Name=lb.name, Subnets=subnet_ids, SecurityGroups=[alb_sg], Scheme="internet-facing", Type="application"
        )["LoadBalancers"][0]

    def target_group(name: str) -> dict[str, Any]:
        try:
            return elb.describe_target_groups(Names=[name])["TargetGroups"][0]
        except ClientError:
            created = elb.create_target_group(
                Name=name,
                Protocol="HTTP",
                Port=container_port,
                VpcId=vpc_id,
                TargetType="ip",
                HealthCheckProtocol="HTTP",
                HealthCheckPath=health_path,
                HealthCheckIntervalSeconds=health_interval_s,
                HealthCheckTimeoutSeconds=2,
                HealthyThresholdCount=2,
                UnhealthyThresholdCount=2,
                Matcher={"HttpCode": "200"},
            )["TargetGroups"][0]
            elb.modify_target_group_attributes(
                TargetGroupArn=created["TargetGroupArn"],
                Attributes=[{"Key": "deregistration_delay.timeout_seconds", "Value": str(deregistration_delay_s)}],
            )
            return created

    group = target_group(lb.target_group)
    alternate = target_group(lb.alternate)
    forward_to = [group["TargetGroupArn"], alternate["TargetGroupArn"]]
    priority = _rule_priority(settings)
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    listener = _service_listener(elb, balancer["LoadBalancerArn"], listeners, lb.listener_port, forward_to, priority)
    test_port = lb.test_listener_port
    if test_port is not None:
        _allow(
            ec2,
            alb_sg,
            {
                "IpProtocol": "tcp",
                "FromPort": test_port,
                "ToPort": test_port,
                "IpRanges": [{"CidrIp": "127.0.0.0/8", "Description": "test listener: this machine only"}],
            },
        )
        _service_listener(elb, balancer["LoadBalancerArn"], listeners, test_port, forward_to, priority)
    if settings.environment.load_balancer_role_arn:
        _load_balancer_role(clients, settings.environment.load_balancer_role_arn)

    ecs = clients.client("ecs")
    if not [c for c in ecs.describe_clusters(clusters=[service.cluster])["clusters"] if c["status"] == "ACTIVE"]:
        ecs.create_cluster(clusterName=service.cluster)

    ecr = clients.client("ecr")
    try:
        ecr.describe_repositories(repositoryNames=[service.image_repository])
    except ClientError:
        ecr.create_repository(repositoryName=service.image_repository)

    if settings.execution_role_arn:
        _execution_role(clients, settings.execution_role_arn)
    if settings.log_group:
        _log_group(clients, settings.log_group)
    if settings.domain is not None:
        _dns(clients, settings.domain.hosted_zone, settings.domain.name, balancer["DNSName"])
    _state_table(clients, settings.environment.state_table)
    if settings.environment.model_bucket:
        _bucket(clients, settings.environment.model_bucket, settings.environment.region)

    return Provisioned(
        vpc_id,
        subnet_ids,
        alb_sg,
        task_sg,
        balancer["LoadBalancerArn"],
        balancer["DNSName"],
        group["TargetGroupArn"],
        listener["ListenerArn"],
    )


# Each listener answers what no rule claims with a 404; the service's own rule forwards to both target groups,
# all weight on the primary: the rules ECS moves in native blue/green, canary and linear deployments
# (advancedConfiguration.productionListenerRule / testListenerRule).
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/alb-resources-for-blue-green.html
NOT_FOUND = {
    "Type": "fixed-response",
    "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain", "MessageBody": "Not Found"},
}
DEFAULT_RULE_PRIORITY = 10


def _rule_priority(settings: Settings) -> int:
    traffic = settings.environment.traffic
    return traffic.rule_priority if traffic is not None and traffic.rule_priority is not None else DEFAULT_RULE_PRIORITY


def _service_listener(
    elb: Any, balancer_arn: str, listeners: list[dict[str, Any]], port: int, forward_to: list[str], priority: int
) -> dict[str, Any]:
    """The listener on ``port`` (a fixed-response 404 by default) with the service's rule at ``priority``:
    path-pattern /*, forwarding to the primary group (weight 100) and the alternate (weight 0)."""
    listener = next((x for x in listeners if x["Port"] == port), None)
    if listener is None:
        listener = elb.create_listener(
            LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=port, DefaultActions=[NOT_FOUND]
        )["Listeners"][0]
    rules = elb.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    if not any(r["Priority"] == str(priority) for r in rules):
        weights = [{"TargetGroupArn": arn, "Weight": 100 if i == 0 else 0} for i, arn in enumerate(forward_to)]
        elb.create_rule(
            ListenerArn=listener["ListenerArn"],
            Priority=priority,
            Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}],
            Actions=[{"Type": "forward", "ForwardConfig": {"TargetGroups": weights}}],
        )
    return listener


def _security_group(ec2: Any, groups: list[dict[str, Any]], vpc_id: str, name: str, purpose: str) -> str:
    for group in groups:
        if group["GroupName"] == name:
            return group["GroupId"]
    return ec2.create_security_group(
        GroupName=name,
        Description=f"snailtrail {purpose}",
        VpcId=vpc_id,
        TagSpecifications=_name_tag(name, "security-group"),
    )["GroupId"]


def _allow(ec2: Any, group_id: str, permission: dict[str, Any]) -> None:
    try:
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])
    except ClientError as exc:
        if exc.response["Error"]["Code"] != "InvalidPermission.Duplicate":
            raise


def _execution_role(clients: AwsClients, arn: str) -> None:
    """The execution role the task definitions name, as AWS requires one for ECR images, awslogs and secrets."""
    iam = clients.client("iam")
    path, _, name = arn.split(":role", 1)[1].rpartition("/")
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument=json.dumps(ECS_TASKS_TRUST))
        iam.put_role_policy(RoleName=name, PolicyName="ecs-task-execution", PolicyDocument=json.dumps(EXECUTION_POLICY))


# The role ECS's native deployments call Elastic Load Balancing with (advancedConfiguration.roleArn): trusted
# by ecs.amazonaws.com, with AmazonECSInfrastructureRolePolicyForLoadBalancers.
# https://docs.aws.amazon.com/AmazonECS/latest/developerguide/AmazonECSInfrastructureRolePolicyForLoadBalancers.html
ECS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}
LOAD_BALANCER_POLICY = "AmazonECSInfrastructureRolePolicyForLoadBalancers"
# The managed policy's statements, inline: moto does not load AWS's managed policies.
LOAD_BALANCER_STATEMENTS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "elasticloadbalancing:DescribeListeners",
                "elasticloadbalancing:DescribeRules",
                "elasticloadbalancing:DescribeTargetGroups",
                "elasticloadbalancing:DescribeTargetHealth",
            ],
            "Resource": "*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:RegisterTargets", "elasticloadbalancing:DeregisterTargets"],
            "Resource": "arn:aws:elasticloadbalancing:*:*:targetgroup/*/*",
        },
        {
            "Effect": "Allow",
            "Action": ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"],
            "Resource": [
                "arn:aws:elasticloadbalancing:*:*:listener/app/*/*/*",
                "arn:aws:elasticloadbalancing:*:*:listener-rule/app/*/*/*/*",
            ],
        },
    ],
}


def _load_balancer_role(clients: AwsClients, arn: str) -> None:
    iam = clients.client("iam")
    path, _, name = arn.split(":role", 1)[1].rpartition("/")
    try:
        iam.get_role(RoleName=name)
    except iam.exceptions.NoSuchEntityException:
        iam.create_role(RoleName=name, Path=f"{path}/", AssumeRolePolicyDocument=json.dumps(ECS_TRUST))
        iam.put_role_policy(
            RoleName=name, PolicyName=LOAD_BALANCER_POLICY, PolicyDocument=json.dumps(LOAD_BALANCER_STATEMENTS)
        )


def _log_group(clients: AwsClients, name: str) -> None:
    """The awslogs group the task definitions name: ECS stops a task whose group is missing."""
    logs = clients.client("logs")
    with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
        logs.create_log_group(logGroupName=name)


def _dns(clients: AwsClients, zone_name: str, record: str, target: str) -> None:
    route53 = clients.client("route53")
    zones = [
        z
        for z in route53.list_hosted_zones_by_name(DNSName=zone_name)["HostedZones"]
        if z["Name"].rstrip(".") == zone_name.rstrip(".")
    ]
    zone_id = (
        zones[0]["Id"]
        if zones
        else route53.create_hosted_zone(Name=zone_name, CallerReference=f"snailtrail-{zone_name}")["HostedZone"]["Id"]
    )
    route53.change_resource_record_sets(
        HostedZoneId=zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": record,
                        "Type": "CNAME",
                        "TTL": 60,
                        "ResourceRecords": [{"Value": target}],
                    },
                }
            ]
        },
    )


def _state_table(clients: AwsClients, table: str) -> None:
    dynamodb = clients.client("dynamodb")
    try:
        dynamodb.describe_table(TableName=table)
    except ClientError:
        dynamodb.create_table(
            TableName=table,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        )


def _bucket(clients: AwsClients, bucket: str, region: str) -> None:
    s3 = clients.client("s3")
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError:
        extra = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        s3.create_bucket(Bucket=bucket, **extra)
