"""A failing and a passing fixture for the checks the drills do not reach."""

from __future__ import annotations

import json

import boto3

from tests.checks.test_verify import checks_by_name
from tests.conftest import Sandbox

GOOD = "fake.local/shine:phase-1-good"
TRUST_ECS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}],
}


def only(sandbox: Sandbox, name: str) -> dict:
    return checks_by_name(sandbox, "--only", name)[1][name]


def test_cluster_exists(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "cluster exists")["status"] == "pass"
    sandbox.edit_config(lambda doc: doc["service"].update(cluster="elsewhere"))
    check = only(sandbox, "cluster exists")
    assert check["status"] == "fail" and "cluster elsewhere not found" in check["summary"]


def test_grace_period_warns_when_start_up_is_slower(sandbox: Sandbox) -> None:
    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.state.trail import Event
    from snailtrail.ui import Reporter

    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "grace period")["status"] == "skip"  # no smoke measurement yet
    trail = Context(load_settings(str(sandbox.config)), Reporter(quiet=True)).trail
    trail.emit(
        Event(
            kind="step",
            run_id="r",
            phase="phase-1",
            ok=True,
            data={"step": "smoke"},
            detail="/health answered 200 on container port 8000 after 45.0 s",
        )
    )
    check = only(sandbox, "grace period")
    assert check["status"] == "warn" and "shorter than the measured start-up (45.0 s)" in check["summary"]
    sandbox.edit_phase("phase-1", lambda doc: doc["container"]["health_check"].update(grace_period_s=60))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0  # the update sets the service's grace period
    check = only(sandbox, "grace period")
    assert check["status"] == "pass" and "grace period 60 s covers" in check["summary"]


def test_roles_must_exist_and_trust_ecs_tasks(sandbox: Sandbox) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    arn = "arn:aws:iam::123456789012:role/shine-worker"
    sandbox.edit_config(lambda doc: doc["service"].update(task_role_arn=arn))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    check = only(sandbox, "roles")
    assert check["status"] == "fail" and "does not exist" in check["summary"]
    iam.create_role(
        RoleName="shine-worker",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}
                ],
            }
        ),
    )
    assert "does not trust ecs-tasks" in only(sandbox, "roles")["summary"]
    iam.update_assume_role_policy(RoleName="shine-worker", PolicyDocument=json.dumps(TRUST_ECS))
    assert only(sandbox, "roles")["status"] == "pass"


def test_log_group_must_exist(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(log_group="/ecs/shine-new"))
    # As on Fargate, the tasks cannot start without their log group.
    deploy = sandbox.deploy("phase-1", GOOD)
    assert deploy.exit_code == 3 and "The specified log group does not exist" in deploy.stdout
    check = only(sandbox, "log group")
    assert check["status"] == "fail" and "/ecs/shine-new does not exist" in check["summary"]
    boto3.client("logs", region_name="us-east-1").create_log_group(logGroupName="/ecs/shine-new")
    assert only(sandbox, "log group")["status"] == "pass"


def test_referenced_secrets_must_exist(sandbox: Sandbox) -> None:
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/shine/api-token"
    sandbox.edit_phase("phase-1", lambda doc: doc["container"].update(secrets={"API_TOKEN": arn}))
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    check = only(sandbox, "secrets exist")
    assert check["status"] == "fail" and "API_TOKEN" in check["summary"]
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name="/shine/api-token", Value="s3cret", Type="SecureString"
    )
    sandbox.api_calls.clear()
    check = only(sandbox, "secrets exist")
    assert check["status"] == "pass" and "s3cret" not in json.dumps(check)
    assert sandbox.api_calls["ssm.DescribeParameters"] == 1 and "ssm.GetParameter" not in sandbox.api_calls


def test_image_missing_from_ecr_fails(sandbox: Sandbox) -> None:
    image = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine@sha256:" + "ab" * 32
    assert sandbox.deploy("phase-1", image).exit_code == 0
    check = only(sandbox, "image config")
    assert check["status"] == "fail" and "is not in ECR" in check["summary"]


def test_private_subnets_need_nat_or_endpoints(sandbox: Sandbox) -> None:
    sandbox.edit_config(lambda doc: doc["service"]["network"].update(assign_public_ip=False))
    # As on AWS, tasks without a public IP, NAT or endpoints cannot pull their image.
    deploy = sandbox.deploy("phase-1", GOOD)
    assert deploy.exit_code == 3 and "CannotPullContainerError" in deploy.stdout
    check = only(sandbox, "network path")
    assert check["status"] == "fail" and "lacks VPC endpoints for ecr.api, ecr.dkr, logs, s3" in check["summary"]
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shine-vpc"]}])["Vpcs"][0]["VpcId"]
    for service in ("ecr.api", "ecr.dkr", "s3", "logs"):
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}")
    assert only(sandbox, "network path")["status"] == "pass"


def test_awsvpc_configuration_present(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    check = only(sandbox, "awsvpc configuration")
    assert check["status"] == "pass" and "not networkBindings" in check["summary"]


def test_target_group_not_attached_fails(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "target group attached")["status"] == "pass"
    sandbox.edit_config(lambda doc: doc["service"]["load_balancer"].update(target_group="orphan"))
    sandbox.extra_target_group("orphan")
    check = only(sandbox, "target group attached")
    assert check["status"] == "fail" and "orphan is not attached to shine-alb" in check["summary"]


def test_success_criteria_fail_on_an_unexpected_body(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "success criteria")["status"] == "pass"
    sandbox.edit_phase("phase-1", lambda doc: doc["success"]["http"][0]["json"].update(phase="full"))
    check = only(sandbox, "success criteria")
    assert check["status"] == "fail" and "JSON field 'phase' is 'simple', expected 'full'" in check["summary"]


def test_production_needs_an_https_redirect(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "https redirect")["status"] == "skip"
    sandbox.edit_config(lambda doc: doc["environments"]["unit"].update(production=True))
    assert only(sandbox, "https redirect")["status"] == "pass"  # the stack's listener 80 redirects
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    plain = next(x for x in listeners if x["Port"] == 80)
    group = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_listener(
        ListenerArn=plain["ListenerArn"], DefaultActions=[{"Type": "forward", "TargetGroupArn": group}]
    )
    check = only(sandbox, "https redirect")
    assert check["status"] == "fail" and "on 80 serve without redirecting to HTTPS" in check["summary"]


def test_public_ips_warn_when_endpoints_make_them_unneeded(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", GOOD).exit_code == 0
    assert only(sandbox, "public ips")["status"] == "pass"
    ec2 = boto3.client("ec2", region_name="us-east-1")
    vpc = ec2.describe_vpcs(Filters=[{"Name": "tag:Name", "Values": ["shine-vpc"]}])["Vpcs"][0]["VpcId"]
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName="com.amazonaws.us-east-1.ecr.dkr")
    check = only(sandbox, "public ips")
    assert check["status"] == "pass"  # one endpoint is not a private path: public IPs still needed
    for service in ("ecr.api", "s3", "logs"):
        ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=f"com.amazonaws.us-east-1.{service}")
    check = only(sandbox, "public ips")
    assert check["status"] == "warn" and check["fix"] == "set assign_public_ip: false"
