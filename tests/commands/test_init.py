"""init --from-service: adopting a service built in moto with boto3, then planning on the written files."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from tests.conftest import CliResult, edit, forwarding_listener

IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/shine:v7"
SECRET = "arn:aws:ssm:us-east-1:123456789012:parameter/shine/db-url"


LOGS = {"logDriver": "awslogs", "options": {"awslogs-group": "/ecs/shine", "awslogs-region": "us-east-1"}}
MOUNT = [{"sourceVolume": "models", "containerPath": "/models", "readOnly": False}]
# A task as production ML services run it: an init container fetching the models into a shared volume
# (the app waits for it to succeed) and a metrics sidecar with its own health check and log stream prefix.
SIDECARS = [
    {
        "name": "models",
        "image": IMAGE,
        "essential": False,
        "command": ["python3", "-m", "shine.models", "fetch", "/models"],
        "memory": 256,
        "mountPoints": MOUNT,
        "logConfiguration": LOGS | {"options": LOGS["options"] | {"awslogs-stream-prefix": "shine"}},
    },
    {
        "name": "metrics",
        "image": "public.ecr.aws/prometheus/statsd-exporter:v0.26.0",
        "essential": True,
        "portMappings": [{"containerPort": 9102, "hostPort": 9102, "protocol": "tcp"}],
        "environment": [{"name": "SCRAPE", "value": "localhost:8000"}],
        "memory": 128,
        "dependsOn": [{"containerName": "app", "condition": "START"}],
        "healthCheck": {
            "command": ["CMD-SHELL", "wget -qO- localhost:9102/metrics"],
            "interval": 10,
            "timeout": 5,
            "retries": 3,
        },
        "logConfiguration": LOGS | {"options": LOGS["options"] | {"awslogs-stream-prefix": "sidecars"}},
    },
]


def build_service(sidecars: list[dict[str, Any]] | None = None) -> None:
    """shine as a team runs it before snailtrail: Fargate behind an ALB whose 80 redirects to 443; with
    ``sidecars``, its task has those containers beside the app, which waits for them as they say."""
    region = {"region_name": "us-east-1"}
    ec2, elbv2, ecs = (boto3.client(name, **region) for name in ("ec2", "elbv2", "ecs"))
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"us-east-1{zone}")["Subnet"][
            "SubnetId"
        ]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    alb_group, task_group = (
        ec2.create_security_group(GroupName=name, Description=name, VpcId=vpc)["GroupId"] for name in ("alb", "tasks")
    )
    balancer = elbv2.create_load_balancer(Name="shine-alb", Subnets=subnets, SecurityGroups=[alb_group])[
        "LoadBalancers"
    ][0]
    group = elbv2.create_target_group(
        Name="shine-tg", Protocol="HTTP", Port=8000, VpcId=vpc, TargetType="ip", HealthCheckPath="/health"
    )["TargetGroups"][0]["TargetGroupArn"]
    redirect = {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"}
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "redirect", "RedirectConfig": redirect}],
    )
    certificate = boto3.client("acm", **region).request_certificate(DomainName="shine.example.com")["CertificateArn"]
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancerArn"],
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": certificate}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group}],
    )
    ecs.create_cluster(clusterName="shine")
    revision = ecs.register_task_definition(
        family="shine",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="512",
        memory="1024",
        executionRoleArn="arn:aws:iam::123456789012:role/shine-execution",
        runtimePlatform={"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        **({"volumes": [{"name": "models"}]} if sidecars else {}),
        containerDefinitions=[
            {
                "name": "app",
                "image": IMAGE,
                "essential": True,
                "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
                "environment": [{"name": "PORT", "value": "8000"}, {"name": "SHINE_MODE", "value": "full"}],
                "secrets": [{"name": "DATABASE_URL", "valueFrom": SECRET}],
                "memory": 1024,
                "logConfiguration": {
                    "logDriver": "awslogs",
                    "options": {
                        "awslogs-group": "/ecs/shine",
                        "awslogs-region": "us-east-1",
                        "awslogs-stream-prefix": "shine",
                    },
                },
            }
            | (
                {
                    "dependsOn": [{"containerName": "models", "condition": "SUCCESS"}],
                    "mountPoints": MOUNT,
                    "memory": 512,
                }
                if sidecars
                else {}
            ),
            *(sidecars or []),
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="shine",
        serviceName="shine",
        taskDefinition=revision,
        desiredCount=2,
        launchType="FARGATE",
        healthCheckGracePeriodSeconds=45,
        loadBalancers=[{"targetGroupArn": group, "containerName": "app", "containerPort": 8000}],
        networkConfiguration={
            "awsvpcConfiguration": {"subnets": subnets, "securityGroups": [task_group], "assignPublicIp": "DISABLED"}
        },
    )
    route53 = boto3.client("route53", **region)
    zone = route53.create_hosted_zone(Name="example.com", CallerReference="shine")["HostedZone"]["Id"]
    alias = {
        "HostedZoneId": balancer["CanonicalHostedZoneId"],
        "DNSName": balancer["DNSName"],
        "EvaluateTargetHealth": False,
    }
    record = {"Name": "shine.example.com", "Type": "A", "AliasTarget": alias}
    route53.change_resource_record_sets(
        HostedZoneId=zone, ChangeBatch={"Changes": [{"Action": "CREATE", "ResourceRecordSet": record}]}
    )


@pytest.fixture
def account(aws_env: None) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        build_service()
        yield


def cli(capsys: Any, *args: str) -> CliResult:
    from snailtrail.cli import run

    capsys.readouterr()
    code = run(list(args))
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def adopt(capsys: Any, directory: Path, *extra: str) -> CliResult:
    return cli(capsys, "init", "--from-service", "shine/shine", "--output-dir", str(directory), *extra)


def test_plan_on_the_adopted_files_shows_no_change(account: None, tmp_path: Path, capsys: Any) -> None:
    adopted = adopt(capsys, tmp_path, "--env", "production")
    assert adopted.exit_code == 0, adopted.stderr

    config = yaml.safe_load((tmp_path / "snailtrail.yaml").read_text())
    assert config["service"]["load_balancer"] == {
        "name": "shine-alb",
        "target_group": "shine-tg",
        "listener_port": 443,  # the listener that forwards, not the redirect on 80
        "security_group": config["service"]["load_balancer"]["security_group"],
    }
    assert config["service"]["domain"] == {"name": "shine.example.com", "hosted_zone": "example.com"}
    assert config["environments"]["production"]["registry"] == "ecr"

    plan = cli(capsys, "--config", str(tmp_path / "snailtrail.yaml"), "--json", "plan", "phase-1", "--image", IMAGE)
    assert plan.exit_code == 0, plan.stderr
    body = plan.json()
    assert body["task_definition_diff"] == ""
    assert body["service_diff"] == ""


def test_existing_files_are_not_overwritten_without_force(account: None, tmp_path: Path, capsys: Any) -> None:
    (tmp_path / "snailtrail.yaml").write_text("# mine\n")
    refused = adopt(capsys, tmp_path)
    assert refused.exit_code == 2 and "already exist" in refused.stderr and "--force" in refused.stderr
    assert (tmp_path / "snailtrail.yaml").read_text() == "# mine\n"
    assert adopt(capsys, tmp_path, "--force").exit_code == 0
    assert "shine-alb" in (tmp_path / "snailtrail.yaml").read_text()


def test_a_target_group_two_listeners_forward_to_is_refused_naming_both(
    account: None, tmp_path: Path, capsys: Any
) -> None:
    forwarding_listener(8081, "shine-tg")
    refused = adopt(capsys, tmp_path)
    assert refused.exit_code == 2
    assert "listener 443, listener 8081 of shine-alb forwards to shine-tg" in refused.stderr
    assert not (tmp_path / "snailtrail.yaml").exists()


def native_service(controller: str = "ECS") -> None:
    """shine-native: the same service deployed by ECS's CANARY strategy on two listener rules (or, with
    ``controller``, by CodeDeploy or an external controller)."""
    region = {"region_name": "us-east-1"}
    elbv2, ecs = (boto3.client(name, **region) for name in ("elbv2", "ecs"))
    primary = elbv2.describe_target_groups(Names=["shine-tg"])["TargetGroups"][0]
    alternate = elbv2.create_target_group(
        Name="shine-tg-alt", Protocol="HTTP", Port=8000, VpcId=primary["VpcId"], TargetType="ip"
    )["TargetGroups"][0]["TargetGroupArn"]
    balancer = primary["LoadBalancerArns"][0]
    listeners = {x["Port"]: x["ListenerArn"] for x in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"]}
    test = elbv2.create_listener(
        LoadBalancerArn=balancer,
        Protocol="HTTP",
        Port=8080,
        DefaultActions=[{"Type": "fixed-response", "FixedResponseConfig": {"StatusCode": "404"}}],
    )["Listeners"][0]["ListenerArn"]
    forward = [
        {
            "Type": "forward",
            "ForwardConfig": {
                "TargetGroups": [
                    {"TargetGroupArn": primary["TargetGroupArn"], "Weight": 100},
                    {"TargetGroupArn": alternate, "Weight": 0},
                ]
            },
        }
    ]
    rules = [
        elbv2.create_rule(
            ListenerArn=listener,
            Priority=10,
            Conditions=[{"Field": "path-pattern", "Values": ["/*"]}],
            Actions=forward,
        )["Rules"][0]["RuleArn"]
        for listener in (listeners[443], test)
    ]
    live = ecs.describe_services(cluster="shine", services=["shine"])["services"][0]
    ecs.delete_service(cluster="shine", service="shine", force=True)
    ecs.create_service(
        cluster="shine",
        serviceName="shine",
        taskDefinition=live["taskDefinition"],
        desiredCount=2,
        launchType="FARGATE",
        deploymentController={"type": controller},
        loadBalancers=[
            {
                "targetGroupArn": primary["TargetGroupArn"],
                "containerName": "app",
                "containerPort": 8000,
                "advancedConfiguration": {
                    "alternateTargetGroupArn": alternate,
                    "productionListenerRule": rules[0],
                    "testListenerRule": rules[1],
                    "roleArn": "arn:aws:iam::123456789012:role/shine-ecs-load-balancers",
                },
            }
        ],
        deploymentConfiguration={
            "strategy": "CANARY",
            "bakeTimeInMinutes": 15,
            "canaryConfiguration": {"canaryPercent": 5.0, "canaryBakeTimeInMinutes": 10},
        },
        networkConfiguration=live["networkConfiguration"],
    )


def test_a_service_deployed_natively_is_adopted_with_its_strategy_rules_and_role(
    account: None, tmp_path: Path, capsys: Any
) -> None:
    native_service()
    adopted = adopt(capsys, tmp_path, "--env", "production")
    assert adopted.exit_code == 0, adopted.stderr

    config = yaml.safe_load((tmp_path / "snailtrail.yaml").read_text())
    balancer = config["service"]["load_balancer"]
    assert (balancer["alternate_target_group"], balancer["test_listener_port"]) == ("shine-tg-alt", 8080)
    production = config["environments"]["production"]
    assert production["traffic"] == {"listener_port": 443, "rule_priority": 10}
    assert production["load_balancer_role_arn"] == "arn:aws:iam::123456789012:role/shine-ecs-load-balancers"
    assert production["strategy"] == {
        "kind": "canary",
        "bake_minutes": 15,
        "canary": {"percent": 5.0, "bake_minutes": 10},
    }


@pytest.mark.parametrize("controller", ["CODE_DEPLOY", "EXTERNAL"])
def test_a_service_another_controller_deploys_is_refused_with_the_fix_and_nothing_written(
    controller: str, account: None, tmp_path: Path, capsys: Any
) -> None:
    native_service(controller)
    refused = adopt(capsys, tmp_path)
    assert refused.exit_code == 2
    assert (
        f"uses the {controller} deployment controller" in refused.stderr
        and "deploymentController ECS" in refused.stderr
    )
    assert not (tmp_path / "snailtrail.yaml").exists()


@pytest.fixture
def two_container_account(aws_env: None) -> Iterator[None]:
    from moto import mock_aws

    with mock_aws():
        build_service(SIDECARS)
        yield


def test_a_service_of_several_containers_is_adopted_whole_and_plans_no_change(
    two_container_account: None, tmp_path: Path, capsys: Any
) -> None:
    adopted = adopt(capsys, tmp_path, "--env", "production")
    assert adopted.exit_code == 0, adopted.stderr
    manifest = yaml.safe_load((tmp_path / "phases" / "phase-1-adopted.yaml").read_text())
    assert manifest["container"]["depends_on"] == {"models": "SUCCESS"}
    assert [c["name"] for c in manifest["containers"]] == ["models", "metrics"]
    models, metrics = manifest["containers"]
    assert "image" not in models  # it runs the app's image: the phase's own
    assert metrics["image"] == {"reference": "public.ecr.aws/prometheus/statsd-exporter:v0.26.0"}
    assert metrics["log"] == {"stream_prefix": "sidecars"} and metrics["ports"] == [9102]

    plan = cli(capsys, "--config", str(tmp_path / "snailtrail.yaml"), "--json", "plan", "phase-1", "--image", IMAGE)
    assert plan.exit_code == 0, plan.stderr
    assert plan.json()["task_definition_diff"] == ""
    assert plan.json()["service_diff"] == ""


def test_an_adopted_service_runs_its_one_off_tasks_with_the_revision_it_runs_before_any_deploy(
    two_container_account: None, tmp_path: Path, capsys: Any
) -> None:
    """`snailtrail run phase-1` (a migration, say) right after adoption: the service's revision is the phase's."""
    from snailtrail.config.settings import load_settings
    from snailtrail.context import Context
    from snailtrail.errors import ConfigError
    from snailtrail.run.one_off import phase_revision
    from snailtrail.ui import Reporter

    assert adopt(capsys, tmp_path, "--env", "production").exit_code == 0
    ctx = Context(load_settings(str(tmp_path / "snailtrail.yaml"), "production"), Reporter())
    live = ctx.live_service["taskDefinition"]
    chosen = phase_revision(ctx, ctx.phases[0])
    assert (chosen.revision.arn, chosen.source) == (live, "live")
    assert [c["name"] for c in chosen.revision.definition["containerDefinitions"]] == ["app", "models", "metrics"]

    # A phase that no longer renders what runs is not the service's revision: nothing of it has run yet.
    edit(tmp_path / "phases" / "phase-1-adopted.yaml", lambda doc: doc["container"].update(memory=4096))
    ctx = Context(load_settings(str(tmp_path / "snailtrail.yaml"), "production"), Reporter())
    with pytest.raises(ConfigError, match="phase-1 has no revision to run"):
        phase_revision(ctx, ctx.phases[0])
