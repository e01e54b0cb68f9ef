"""The sandbox's environment is the repository's template, as a CloudFormation stack: what the configuration
names exists, so AWS's rules can be met in the sandbox."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import boto3

from tests.conftest import EXECUTION_ROLE_ARN, LOAD_BALANCER_ROLE_ARN, Sandbox


def test_the_configured_execution_role_exists_and_trusts_ecs_tasks(sandbox: Sandbox) -> None:
    role = boto3.client("iam", region_name="us-east-1").get_role(RoleName="shine-execution")["Role"]
    assert role["Arn"] == EXECUTION_ROLE_ARN
    policy = role["AssumeRolePolicyDocument"]
    trust = json.loads(urllib.parse.unquote(policy)) if isinstance(policy, str) else policy
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}


def test_the_configured_log_group_exists(sandbox: Sandbox) -> None:
    groups = boto3.client("logs", region_name="us-east-1").describe_log_groups(logGroupNamePrefix="/ecs/shine")
    assert [g["logGroupName"] for g in groups["logGroups"]] == ["/ecs/shine"]


def _listener_rules(port: int) -> tuple[dict, list[dict]]:
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    listener = next(x for x in listeners if x["Port"] == port)
    return listener, elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]


def test_each_listener_answers_404_by_default_and_its_rule_forwards_to_both_target_groups(sandbox: Sandbox) -> None:
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    groups = {g["TargetGroupName"]: g for g in elbv2.describe_target_groups()["TargetGroups"]}
    assert groups["shine-tg-alt"]["TargetType"] == "ip" and groups["shine-tg-alt"]["HealthCheckPath"] == "/health"
    for port in (443, _test_port(sandbox)):
        listener, rules = _listener_rules(port)
        assert listener["Protocol"] == "HTTPS" and listener["Certificates"][0]["CertificateArn"].startswith(
            "arn:aws:acm:"
        )
        assert listener["DefaultActions"][0]["Type"] == "fixed-response"
        assert listener["DefaultActions"][0]["FixedResponseConfig"]["StatusCode"] == "404"
        service_rules = [r for r in rules if not r["IsDefault"]]
        assert [r["Priority"] for r in service_rules] == ["10"]
        assert service_rules[0]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/*"]
        forward = service_rules[0]["Actions"][0]["ForwardConfig"]["TargetGroups"]
        assert [(g["TargetGroupArn"], g["Weight"]) for g in forward] == [
            (groups["shine-tg"]["TargetGroupArn"], 100),
            (groups["shine-tg-alt"]["TargetGroupArn"], 0),
        ]


def test_the_load_balancer_role_trusts_ecs_with_the_managed_policys_permissions(sandbox: Sandbox) -> None:
    iam = boto3.client("iam", region_name="us-east-1")
    role = iam.get_role(RoleName="shine-ecs-load-balancers")["Role"]
    assert role["Arn"] == LOAD_BALANCER_ROLE_ARN
    policy = role["AssumeRolePolicyDocument"]
    trust = json.loads(urllib.parse.unquote(policy)) if isinstance(policy, str) else policy
    assert trust["Statement"][0]["Principal"] == {"Service": "ecs.amazonaws.com"}
    document = iam.get_role_policy(
        RoleName="shine-ecs-load-balancers", PolicyName="AmazonECSInfrastructureRolePolicyForLoadBalancers"
    )["PolicyDocument"]
    document = json.loads(urllib.parse.unquote(document)) if isinstance(document, str) else document
    actions = {a for s in document["Statement"] for a in s["Action"]}
    assert {"elasticloadbalancing:ModifyRule", "elasticloadbalancing:RegisterTargets"} <= actions


def _test_port(sandbox: Sandbox) -> int:
    from snailtrail.config.settings import load_settings

    port = load_settings(str(sandbox.config)).service.load_balancer.test_listener_port
    assert port is not None
    return port


def test_the_environment_is_a_stack_of_the_repositorys_template_with_every_resource_it_declares(
    sandbox: Sandbox,
) -> None:
    from snailtrail.infra.template import ENVIRONMENT_TEMPLATE, load_template

    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    stack = cloudformation.describe_stacks(StackName="shine-unit")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"
    resources = cloudformation.list_stack_resources(StackName="shine-unit")["StackResourceSummaries"]
    # Every resource of the template (the domain's record too: the sandbox has its domain) and nothing else.
    assert {r["LogicalResourceId"] for r in resources} == set(load_template(ENVIRONMENT_TEMPLATE)["Resources"])
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    # The sandbox's own values are parameters, never a second template.
    assert parameters["TestListenerCidr"] == "127.0.0.0/8" and parameters["DeregistrationDelaySeconds"] == "0"


def test_port_80_redirects_to_the_https_listener(sandbox: Sandbox) -> None:
    listener, _ = _listener_rules(80)
    assert listener["Protocol"] == "HTTP"
    assert listener["DefaultActions"][0]["RedirectConfig"] == {
        "Protocol": "HTTPS",
        "Port": "443",
        "StatusCode": "HTTP_301",
    }


def test_the_api_built_provisioning_is_gone() -> None:
    """One definition of the infrastructure: the sandbox's module keeps no builder of its own."""
    from snailtrail.sandbox import provision

    assert not [name for name in vars(provision) if name.startswith(("_service_listener", "_security_group", "_dns"))]
    assert "create_load_balancer" not in Path(provision.__file__).read_text()
