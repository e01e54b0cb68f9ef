"""Service-layer checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

from types import SimpleNamespace

import boto3
import pytest
from botocore.stub import Stubber

from snailtrail.checks.base import Status
from snailtrail.checks.service import image_config, secrets_exist
from snailtrail.checks.view import LiveView
from tests.checks.conftest import running


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
