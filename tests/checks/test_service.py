"""Service-layer checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

import json

import boto3
import pytest
import yaml

from snailtrail.checks.base import Status
from snailtrail.checks.service import secrets_exist
from snailtrail.checks.view import LiveView
from tests.checks.conftest import running
from tests.conftest import Sandbox


def test_secrets_in_every_form_ecs_documents_are_found(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name="shine-db-url", Value="x", Type="SecureString")
    ssm.put_parameter(Name="/shine/api-key", Value="x", Type="SecureString")
    secret = boto3.client("secretsmanager", region_name="us-east-1").create_secret(
        Name="shine-db", SecretString='{"password": "x"}'
    )["ARN"]
    forms = {
        "BARE_NAME": "shine-db-url",  # a parameter in the task's own region, by name
        "ARN_NO_SLASH": "arn:aws:ssm:us-east-1:123456789012:parameter/shine-db-url",
        "ARN_HIERARCHY": "arn:aws:ssm:us-east-1:123456789012:parameter/shine/api-key",
        "JSON_KEY": f"{secret}:password::",  # arn:...:secret:name-AbCdEf:json-key:version-stage:version-id
        "WHOLE_SECRET": secret,
    }
    running(view, monkeypatch, {"secrets": [{"name": k, "valueFrom": v} for k, v in forms.items()]})
    assert secrets_exist(view, None).status is Status.PASS, secrets_exist(view, None).summary

    running(view, monkeypatch, {"secrets": [{"name": "GONE", "valueFrom": "shine-gone"}]})
    missing = secrets_exist(view, None)
    assert missing.status is Status.FAIL and "GONE (shine-gone)" in missing.summary


def test_an_image_shared_from_another_account_is_looked_up_in_its_own_registry(view: LiveView) -> None:
    from botocore.stub import Stubber

    from snailtrail.checks.service import ecr_image_missing

    digest = "sha256:" + "a" * 64
    reference = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/shared/shine@{digest}"
    with Stubber(view.ctx.clients.client("ecr")) as stub:
        # Without registryId ECR answers from the caller's own registry, where the image is not.
        stub.add_response(
            "describe_images",
            {"imageDetails": [{"registryId": "111122223333", "repositoryName": "shared/shine", "imageDigest": digest}]},
            {"registryId": "111122223333", "repositoryName": "shared/shine", "imageIds": [{"imageDigest": digest}]},
        )
        assert ecr_image_missing(view, reference) is None


def native_check(sandbox: Sandbox) -> dict:
    result = sandbox.run("verify", "--only", "native deployment", "--json")
    return {c["name"]: c for c in result.json()["checks"]}["native deployment"]


def test_the_native_setup_passes_when_rules_groups_and_role_are_as_ecs_needs_them(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    verdict = native_check(sandbox)
    assert verdict["status"] == "pass", verdict
    assert any(":listener-rule/" in arn for arn in verdict["resources"]) and any(
        "shine-ecs-load-balancers" in arn for arn in verdict["resources"]
    )


def test_a_test_listener_whose_rule_is_gone_fails_naming_the_listener_and_the_fix(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    elbv2 = boto3.client("elbv2", region_name="us-east-1")
    balancer = elbv2.describe_load_balancers(Names=["shine-alb"])["LoadBalancers"][0]["LoadBalancerArn"]
    port = yaml.safe_load(sandbox.config.read_text())["service"]["load_balancer"]["test_listener_port"]
    test = next(x for x in elbv2.describe_listeners(LoadBalancerArn=balancer)["Listeners"] if x["Port"] == port)
    for rule in elbv2.describe_rules(ListenerArn=test["ListenerArn"])["Rules"]:
        if not rule["IsDefault"]:
            elbv2.delete_rule(RuleArn=rule["RuleArn"])
    verdict = native_check(sandbox)
    assert verdict["status"] == "fail"
    assert f"listener {port} has no rule forwarding to shine-tg and shine-tg-alt" in verdict["summary"]
    assert "priority 10, path-pattern /*" in verdict["fix"]


def test_a_load_balancer_role_ecs_cannot_assume_fails(sandbox: Sandbox) -> None:
    assert sandbox.deploy("phase-1", "fake.local/shine:phase-1-good").exit_code == 0
    iam = boto3.client("iam", region_name="us-east-1")
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    iam.update_assume_role_policy(RoleName="shine-ecs-load-balancers", PolicyDocument=json.dumps(trust))
    verdict = native_check(sandbox)
    assert verdict["status"] == "fail" and "does not trust ecs.amazonaws.com" in verdict["summary"]


def test_an_ecr_image_in_another_region_is_looked_up_there(view: LiveView) -> None:
    from botocore.stub import Stubber

    from snailtrail.checks.service import ecr_image_missing

    digest = "sha256:" + "b" * 64
    reference = f"123456789012.dkr.ecr.eu-central-1.amazonaws.com/shine@{digest}"
    elsewhere = view.ctx.clients.client("ecr", "eu-central-1")
    assert elsewhere.meta.region_name == "eu-central-1"
    with Stubber(elsewhere) as stub:
        stub.add_response(
            "describe_images",
            {"imageDetails": [{"registryId": "123456789012", "repositoryName": "shine", "imageDigest": digest}]},
            {"registryId": "123456789012", "repositoryName": "shine", "imageIds": [{"imageDigest": digest}]},
        )
        assert ecr_image_missing(view, reference) is None


def test_an_image_on_a_dual_stack_ecr_host_is_looked_up_in_ecr(view: LiveView) -> None:
    from snailtrail.checks.service import image_missing

    reference = "123456789012.dkr-ecr.us-east-1.on.aws/shine@sha256:" + "c" * 64
    assert "is not in ECR (RepositoryNotFoundException)" in image_missing(view, reference)
