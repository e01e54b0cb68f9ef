"""Service-layer checks on accounts shaped as real ones (in-process moto)."""

from __future__ import annotations

import boto3
import pytest

from snailtrail.checks.base import Status
from snailtrail.checks.service import secrets_exist
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
