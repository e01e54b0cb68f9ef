"""Service-layer checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

import json
import urllib.parse
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
import yaml
from botocore.stub import Stubber

from snailtrail.checks.base import Status
from snailtrail.checks.service import image_config, judge_roles, roles, secrets_exist
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


SHARED_DIGEST = "sha256:" + "a" * 64
SHARED_IMAGE = f"111122223333.dkr.ecr.us-east-1.amazonaws.com/shared/shine@{SHARED_DIGEST}"


def running_image(view: LiveView, monkeypatch: pytest.MonkeyPatch, image: str) -> None:
    definition = {"containerDefinitions": [{"name": "app", "image": image, "portMappings": [{"containerPort": 8000}]}]}
    monkeypatch.setattr(view, "running_revision", lambda: SimpleNamespace(image=image, definition=definition))


# The DescribeImages request for the shared image: in its own account's registry (registryId), since
# without it ECR answers from the caller's registry, where the image is not.
SHARED_LOOKUP = {
    "registryId": "111122223333",
    "repositoryName": "shared/shine",
    "imageIds": [{"imageDigest": SHARED_DIGEST}],
}


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


def test_an_image_shared_from_another_account_is_looked_up_in_its_own_registry(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_image(view, monkeypatch, SHARED_IMAGE)
    with Stubber(view.ctx.clients.client("ecr")) as stub:
        found = {"registryId": "111122223333", "repositoryName": "shared/shine", "imageDigest": SHARED_DIGEST}
        stub.add_response("describe_images", {"imageDetails": [found]}, SHARED_LOOKUP)

        result = image_config(view, None)

        stub.assert_no_pending_responses()
    assert result.status is Status.PASS, result.summary
    assert result.summary == f"{SHARED_IMAGE} exists in ECR"


def test_an_image_gone_from_another_accounts_registry_fails_image_config_naming_ecrs_answer(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_image(view, monkeypatch, SHARED_IMAGE)
    with Stubber(view.ctx.clients.client("ecr")) as stub:
        stub.add_client_error("describe_images", "ImageNotFoundException", expected_params=SHARED_LOOKUP)

        result = image_config(view, None)

        stub.assert_no_pending_responses()
    assert result.status is Status.FAIL
    assert result.summary == f"{SHARED_IMAGE} is not in ECR (ImageNotFoundException)"
    assert result.fix == "push the image again, or roll back"


def iam_role(name: str, trusted: str) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": trusted}, "Action": "sts:AssumeRole"}],
    }
    iam = boto3.client("iam", region_name="us-east-1")
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]


def test_roles_pass_when_each_exists_and_trusts_ecs_tasks(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    task, execution = (
        iam_role("shine-task", "ecs-tasks.amazonaws.com"),
        iam_role("shine-exec", "ecs-tasks.amazonaws.com"),
    )
    monkeypatch.setattr(
        view,
        "running_revision",
        lambda: SimpleNamespace(definition={"taskRoleArn": task, "executionRoleArn": execution}),
    )

    result = roles(view, None)

    assert result.status is Status.PASS, result.summary
    assert result.summary == "2 role(s) exist and trust ecs-tasks"
    assert result.resources == [task, execution]


def test_roles_fail_naming_each_role_missing_or_trusting_another_service(view: LiveView) -> None:
    lambda_role = iam_role("shine-lambda", "lambda.amazonaws.com")
    missing = "arn:aws:iam::123456789012:role/shine-gone"

    result = judge_roles(view, [lambda_role, missing], "no roles")

    assert result.status is Status.FAIL
    assert result.summary == f"{lambda_role} does not trust ecs-tasks.amazonaws.com; {missing} does not exist"
    assert result.fix == "create the role with a trust policy for ecs-tasks.amazonaws.com"
    assert result.resources == [lambda_role, missing]


def test_roles_skip_saying_why_when_no_role_is_named(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(view, "running_revision", lambda: SimpleNamespace(definition={}))

    result = roles(view, None)

    assert result.status is Status.SKIP and result.summary == "the task definition names no roles"


def test_a_trust_policy_iam_returns_url_encoded_is_read(view: LiveView, monkeypatch: pytest.MonkeyPatch) -> None:
    trust = {"Statement": [{"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}}]}
    encoded = urllib.parse.quote(json.dumps(trust))  # as IAM's query API sends it
    monkeypatch.setattr(view, "role", lambda arn: {"AssumeRolePolicyDocument": encoded})

    assert judge_roles(view, ["arn:aws:iam::123456789012:role/shine-task"], "no roles").status is Status.PASS


LOCAL_IMAGE = f"127.0.0.1:5000/shine@{SHARED_DIGEST}"


def registry_answers(view: LiveView, monkeypatch: pytest.MonkeyPatch, config: Any, problem: str | None) -> None:
    """The v2 registry's answer for LOCAL_IMAGE (the image config, or why it could not be read)."""
    monkeypatch.setattr(view, "registry_config", lambda reference: {LOCAL_IMAGE: (config, problem)}[reference])


def test_image_config_fails_when_the_registry_says_the_image_is_gone(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_image(view, monkeypatch, LOCAL_IMAGE)
    registry_answers(view, monkeypatch, None, f"{LOCAL_IMAGE} is not in the registry (it answered 404)")

    result = image_config(view, None)

    assert result.status is Status.FAIL
    assert result.summary == f"{LOCAL_IMAGE} is not in the registry (it answered 404)"


def test_image_config_warns_when_the_registry_cannot_be_read_rather_than_calling_the_image_gone(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_image(view, monkeypatch, LOCAL_IMAGE)
    registry_answers(view, monkeypatch, None, f"the registry answered 401 for {LOCAL_IMAGE}")

    result = image_config(view, None)

    assert result.status is Status.WARN
    assert result.summary == f"image config not checked: the registry answered 401 for {LOCAL_IMAGE}"


def test_image_config_passes_an_image_its_registry_has_running_as_a_user_on_the_mapped_port(
    view: LiveView, monkeypatch: pytest.MonkeyPatch
) -> None:
    running_image(view, monkeypatch, LOCAL_IMAGE)
    registry_answers(view, monkeypatch, {"User": "app", "ExposedPorts": {"8000/tcp": {}}}, None)

    result = image_config(view, None)

    assert result.status is Status.PASS, result.summary
