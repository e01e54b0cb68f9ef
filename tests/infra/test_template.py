"""The repository's CloudFormation templates: cfn-lint passes, and their parameters come from snailtrail.yaml."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from cfnlint.api import lint

from snailtrail.config.phases import load_phases
from snailtrail.config.settings import load_settings
from snailtrail.errors import ConfigError
from snailtrail.infra.ci_stack import ci_stack_inputs
from snailtrail.infra.template import (
    ENVIRONMENT_TEMPLATE,
    GITHUB_ACTIONS_TEMPLATE,
    load_template,
    stack_inputs,
    template_body,
)
from tests.conftest import write_config

TEMPLATES = Path(__file__).resolve().parents[2] / "snailtrail" / "templates"
CERTIFICATE = "arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c"
# The regions the template is linted for: a commercial one and the GovCloud and China partitions' own.
REGIONS = ["us-east-1", "eu-west-1", "us-gov-west-1", "cn-north-1"]


def settings_with(tmp_path: Path, **environment: object):
    defaults = {
        "model_bucket": "shine-models-123456789012",
        "traffic": {"listener_port": 443},
        "infra": {"certificate_arn": CERTIFICATE},
    }
    path = write_config(tmp_path, "https://shine.example.com", 8443, **(defaults | environment))
    settings = load_settings(str(path))
    return settings, load_phases(settings.phases_path)


@pytest.mark.parametrize("name", [ENVIRONMENT_TEMPLATE, GITHUB_ACTIONS_TEMPLATE])
def test_each_template_passes_cfn_lint(name: str) -> None:
    matches = lint((TEMPLATES / name).read_text(), regions=REGIONS)
    assert [str(m) for m in matches] == []


def test_the_ci_stack_with_snailtrails_policies_passes_cfn_lint(tmp_path: Path) -> None:
    settings, _ = settings_with(
        tmp_path,
        account_id="123456789012",
        infra={"certificate_arn": CERTIFICATE, "github_repository": "example/shine"},
    )
    inputs = ci_stack_inputs(settings, load_phases(settings.phases_path), None)
    assert [str(m) for m in lint(inputs.body, regions=REGIONS)] == []
    role = inputs.template["Resources"]["DeployRole"]["Properties"]
    assert role["Policies"][0]["PolicyName"] == "snailtrail-deploy"
    assert any(s["Sid"] == "DeployTheService" for s in role["Policies"][0]["PolicyDocument"]["Statement"])
    verify = inputs.template["Resources"]["VerifyRole"]["Properties"]["Policies"][0]["PolicyDocument"]
    assert not any(s["Sid"] == "DeployTheService" for s in verify["Statement"])
    assert inputs.parameters["GitHubRepository"] == "example/shine"


def test_short_forms_are_read_as_cloudformations_long_forms() -> None:
    template = load_template(ENVIRONMENT_TEMPLATE)
    rule = template["Resources"]["ProductionListenerRule"]["Properties"]
    assert rule["ListenerArn"] == {"Ref": "ProductionListener"}
    groups = rule["Actions"][0]["ForwardConfig"]["TargetGroups"]
    assert groups == [
        {"TargetGroupArn": {"Ref": "PrimaryTargetGroup"}, "Weight": 100},
        {"TargetGroupArn": {"Ref": "AlternateTargetGroup"}, "Weight": 0},
    ]
    ingress = template["Resources"]["AlbToTasks"]["Properties"]
    assert ingress["SourceSecurityGroupId"] == {"Fn::GetAtt": ["AlbSecurityGroup", "GroupId"]}
    assert '"Fn::Sub"' in template_body(template)


def test_the_stacks_names_are_snailtrail_yamls(tmp_path: Path) -> None:
    settings, phases = settings_with(tmp_path, account_id="123456789012")
    parameters = stack_inputs(settings, phases).parameters
    assert (
        parameters
        | {
            "ServiceName": "shine",
            "ClusterName": "shine",
            "LoadBalancerName": "shine-alb",
            "TargetGroupName": "shine-tg",
            "ExecutionRoleName": "shine-execution",
            "LogGroupName": "/ecs/shine",
            "StateTableName": "snailtrail-state",
            "RepositoryName": "shine",
            "ModelBucketName": "shine-models-123456789012",
            "CertificateArn": CERTIFICATE,
            "ListenerPort": "443",
            "TestListenerPort": "8443",
            "ContainerPort": "8000",
            "HealthCheckPath": "/health",
            "SubnetNames": "shine-public-a,shine-public-b",
            "TaskSecurityGroupName": "shine-tasks",
            "AlbSecurityGroupName": "shine-alb",
        }
        == parameters
    )
    # Every parameter has a value (moto's CloudFormation splits only the lists it is given).
    assert set(parameters) == set(load_template(ENVIRONMENT_TEMPLATE)["Parameters"])
    assert stack_inputs(settings, phases).stack_name == "shine-unit"


def test_an_accounts_own_values_are_parameters(tmp_path: Path) -> None:
    settings, phases = settings_with(
        tmp_path,
        infra={
            "certificate_arn": CERTIFICATE,
            "stack_name": "shine-prod",
            "parameters": {"VpcId": "vpc-0123456789abcdef0", "SubnetIds": "subnet-01234567,subnet-89abcdef"},
        },
    )
    inputs = stack_inputs(settings, phases)
    assert inputs.stack_name == "shine-prod"
    assert inputs.parameters["VpcId"] == "vpc-0123456789abcdef0"
    assert inputs.parameters["SubnetIds"] == "subnet-01234567,subnet-89abcdef"


@pytest.mark.parametrize(
    ("parameters", "named"),
    [
        ({"LoadBalancerName": "other-alb"}, "decided by snailtrail.yaml"),
        ({"Vpc": "vpc-0123"}, "not a parameter of the template"),
    ],
)
def test_a_parameter_set_twice_or_unknown_is_refused(tmp_path: Path, parameters: dict, named: str) -> None:
    settings, phases = settings_with(tmp_path, infra={"certificate_arn": CERTIFICATE, "parameters": parameters})
    with pytest.raises(ConfigError, match=named) as raised:
        stack_inputs(settings, phases)
    assert f"environments.unit.infra.parameters.{next(iter(parameters))}" in raised.value.message


def test_without_a_certificate_the_stack_is_refused_naming_the_field(tmp_path: Path) -> None:
    settings, phases = settings_with(tmp_path, infra={})
    with pytest.raises(ConfigError, match=r"environments\.unit\.infra\.certificate_arn"):
        stack_inputs(settings, phases)


def test_a_production_listener_on_80_is_refused_as_the_redirects_port(tmp_path: Path) -> None:
    settings, phases = settings_with(tmp_path, traffic={"listener_port": 80})
    with pytest.raises(ConfigError, match="redirects to HTTPS") as raised:
        stack_inputs(settings, phases)
    assert "traffic.listener_port: 443" in raised.value.fix


def test_phases_disagreeing_on_the_container_port_are_refused(tmp_path: Path) -> None:
    settings, _ = settings_with(tmp_path)
    first = sorted((tmp_path / "phases").glob("*.yaml"))[0]
    document = yaml.safe_load(first.read_text())
    document["container"]["port"] = 9000
    document["container"]["environment"].pop("PORT", None)
    first.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=r"disagree on container\.port \(8000, 9000\)"):
        stack_inputs(settings, load_phases(settings.phases_path))


def test_the_task_role_trusts_the_accounts_identities_so_smoke_may_assume_it() -> None:
    """smoke assumes the task role with the operator's (or CI's deploy role's) credentials; the account's
    identities may do so when their own policy grants it (iam-policy's AssumeTheTaskRoleForSmoke), ECS as ever."""
    trust = load_template(ENVIRONMENT_TEMPLATE)["Resources"]["TaskRole"]["Properties"]["AssumeRolePolicyDocument"]
    principals = [statement["Principal"] for statement in trust["Statement"] if statement["Action"] == "sts:AssumeRole"]
    assert {"Service": "ecs-tasks.amazonaws.com"} in principals
    assert {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}} in principals
