"""Credentials, region and endpoint of an aws environment follow the AWS standard chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from snailtrail.aws.session import AwsClients, partition_of
from snailtrail.config.settings import EnvironmentConfig
from snailtrail.errors import ConfigError, operator_error

AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)


@pytest.fixture
def profiles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two profiles in private AWS config files; no AWS variable set."""
    for name in AWS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "config").write_text(
        "[profile configured]\nregion = ap-south-1\n[profile chosen]\nregion = sa-east-1\n"
    )
    (tmp_path / "credentials").write_text(
        "[configured]\naws_access_key_id = CONFIGURED\naws_secret_access_key = s\n"
        "[chosen]\naws_access_key_id = CHOSEN\naws_secret_access_key = s\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def key_of(clients: AwsClients) -> str:
    return clients._session.get_credentials().access_key


def test_the_configured_profile_is_the_default(profiles: None) -> None:
    clients = AwsClients(EnvironmentConfig(profile="configured"))
    assert key_of(clients) == "CONFIGURED" and clients.region == "ap-south-1"


def test_aws_profile_beats_the_configured_profile(profiles: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_PROFILE", "chosen")
    clients = AwsClients(EnvironmentConfig(profile="configured"))
    assert key_of(clients) == "CHOSEN" and clients.region == "sa-east-1"


def test_environment_credentials_beat_a_profile_that_does_not_exist_here(
    profiles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROM-ENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    clients = AwsClients(EnvironmentConfig(profile="shine-prod", region="eu-west-1"))
    assert key_of(clients) == "FROM-ENV"


def test_the_configured_region_beats_aws_region_which_beats_the_profile(
    profiles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert AwsClients(EnvironmentConfig(profile="configured", region="eu-west-1")).region == "eu-west-1"
    assert AwsClients(EnvironmentConfig(profile="configured")).region == "ca-central-1"


def test_no_region_anywhere_is_a_configuration_error(profiles: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROM-ENV")
    with pytest.raises(ConfigError) as raised:
        AwsClients(EnvironmentConfig())
    assert raised.value.exit_code == 2 and "AWS_REGION" in (raised.value.fix or "")


def test_a_missing_profile_is_explained_with_its_fix(profiles: None) -> None:
    with pytest.raises(ConfigError) as raised:
        AwsClients(EnvironmentConfig(profile="shine-prod", region="eu-west-1"))
    assert "shine-prod" in raised.value.message and "aws configure sso --profile shine-prod" in (raised.value.fix or "")


def test_a_stray_endpoint_variable_does_not_redirect_an_aws_environment(
    profiles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:4566")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "FROM-ENV")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "s")
    clients = AwsClients(EnvironmentConfig(region="eu-west-1"))
    assert clients.client("ecs").meta.endpoint_url == "https://ecs.eu-west-1.amazonaws.com"
    named = AwsClients(EnvironmentConfig(region="eu-west-1", endpoint_url="http://localhost:5000"))
    assert named.client("ecs").meta.endpoint_url == "http://localhost:5000"


def test_an_expired_sso_session_says_to_log_in_again() -> None:
    from botocore.exceptions import UnauthorizedSSOTokenError

    error = operator_error(UnauthorizedSSOTokenError())
    assert error.exit_code == 2 and "aws sso login" in (error.fix or "")


def test_expired_credentials_are_not_reported_as_a_missing_permission() -> None:
    from botocore.exceptions import ClientError

    answer = {
        "Error": {"Code": "ExpiredTokenException", "Message": "The security token included in the request is expired"},
        "ResponseMetadata": {"HTTPStatusCode": 400},
    }
    error = operator_error(ClientError(answer, "DescribeServices"))
    assert error.exit_code == 2 and "expired" in error.message and "policy" not in (error.fix or "")


def test_the_partition_follows_the_region() -> None:
    partitions = {r: partition_of(r) for r in ("eu-west-1", "cn-north-1", "us-gov-west-1")}
    assert partitions == {"eu-west-1": "aws", "cn-north-1": "aws-cn", "us-gov-west-1": "aws-us-gov"}


def test_the_sandbox_keeps_its_region_whatever_aws_region_says(profiles: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_REGION", "ca-central-1")
    assert AwsClients(EnvironmentConfig(kind="sandbox")).region == "us-east-1"


def test_an_instance_profile_is_ambient_where_the_configured_profile_does_not_exist(
    profiles: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An EC2 CI runner: no AWS variables, no config files naming shine-prod, credentials from IMDS."""
    from botocore.credentials import Credentials, InstanceMetadataProvider

    monkeypatch.setattr(InstanceMetadataProvider, "load", lambda self: Credentials("FROM-IMDS", "s", method="iam-role"))
    clients = AwsClients(EnvironmentConfig(profile="shine-prod", region="eu-west-1"))
    assert key_of(clients) == "FROM-IMDS"


def test_an_existing_profile_still_beats_the_instance_profile(profiles: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.credentials import Credentials, InstanceMetadataProvider

    monkeypatch.setattr(InstanceMetadataProvider, "load", lambda self: Credentials("FROM-IMDS", "s", method="iam-role"))
    assert key_of(AwsClients(EnvironmentConfig(profile="configured"))) == "CONFIGURED"
