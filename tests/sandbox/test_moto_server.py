"""The sandbox's AWS API answers only requests signed with the sandbox's own key (its id and its secret),
over every protocol its callers use, and no cross-origin page."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ClientError

from snailtrail.aws.session import AccessKey
from snailtrail.sandbox.moto_server import SandboxAwsApi, generate_key


@pytest.fixture(scope="module")
def api() -> Iterator[tuple[SandboxAwsApi, AccessKey]]:
    key = generate_key()
    server = SandboxAwsApi(key)
    server.start()
    try:
        yield server, key
    finally:
        server.stop()


def client(url: str, service: str, key: AccessKey):
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
    )


def test_the_sandboxs_key_is_served_over_every_protocol(api: tuple[SandboxAwsApi, AccessKey]) -> None:
    server, key = api
    assert "clusterArns" in client(server.url, "ecs", key).list_clusters()  # JSON
    assert "LoadBalancers" in client(server.url, "elbv2", key).describe_load_balancers()  # query
    assert "Vpcs" in client(server.url, "ec2", key).describe_vpcs()  # EC2's query
    s3 = client(server.url, "s3", key)  # REST-XML, a signed or streamed payload, paths as sent
    s3.create_bucket(Bucket="shine-models")
    s3.put_object(Bucket="shine-models", Key="shine/models/a b+c/manifest.json", Body=b'{"v": 1}')
    s3.upload_fileobj(io.BytesIO(b"x" * 100_000), "shine-models", "shine/models/big.bin")
    listed = s3.list_objects_v2(Bucket="shine-models", Prefix="shine/models/")
    assert sorted(o["Key"] for o in listed["Contents"]) == ["shine/models/a b+c/manifest.json", "shine/models/big.bin"]
    assert s3.get_object(Bucket="shine-models", Key="shine/models/a b+c/manifest.json")["Body"].read() == b'{"v": 1}'


def test_the_sandboxs_key_id_with_another_secret_is_refused(api: tuple[SandboxAwsApi, AccessKey]) -> None:
    server, key = api
    forged = client(server.url, "ecs", AccessKey(key.access_key_id, "guessed"))
    with pytest.raises(ClientError) as refused:
        forged.list_clusters()
    assert refused.value.response["Error"]["Code"] == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("service", "code"), [("ecs", "UnrecognizedClientException"), ("elbv2", "InvalidClientTokenId")]
)
def test_another_key_is_refused_as_aws_refuses_an_unknown_key(
    api: tuple[SandboxAwsApi, AccessKey], service: str, code: str
) -> None:
    server, _ = api
    stranger = client(server.url, service, AccessKey("AKIAIOSFODNN7EXAMPLE", "whatever"))
    with pytest.raises(ClientError) as refused:
        stranger.list_clusters() if service == "ecs" else stranger.describe_load_balancers()
    assert refused.value.response["Error"]["Code"] == code
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_an_unsigned_request_is_refused_even_for_motos_own_api(api: tuple[SandboxAwsApi, AccessKey]) -> None:
    server, _ = api
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(urllib.request.Request(server.url + "/moto-api/reset", method="POST"), timeout=5)
    assert refused.value.code == 403


def test_no_answer_carries_a_cors_grant(api: tuple[SandboxAwsApi, AccessKey]) -> None:
    server, key = api
    ecs = client(server.url, "ecs", key)
    grants: list[str | None] = []
    ecs.meta.events.register(
        "before-sign", lambda request, **_: request.headers.add_header("Origin", "https://evil.example")
    )
    ecs.meta.events.register(
        "after-call", lambda http_response, **_: grants.append(http_response.headers.get("Access-Control-Allow-Origin"))
    )
    ecs.list_clusters()
    assert grants == [None]
