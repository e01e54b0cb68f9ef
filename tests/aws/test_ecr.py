"""ECR registry hosts, as the ECR user guide names them."""

from __future__ import annotations

import pytest

from snailtrail.aws.ecr import EcrRegistry, ecr_registry


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("111122223333.dkr.ecr.eu-west-1.amazonaws.com", "eu-west-1"),
        ("111122223333.dkr.ecr-fips.us-gov-west-1.amazonaws.com", "us-gov-west-1"),
        ("111122223333.dkr-ecr.eu-west-1.on.aws", "eu-west-1"),  # dual-stack
        ("111122223333.dkr-ecr-fips.us-east-1.on.aws", "us-east-1"),
        ("111122223333.dkr.ecr.cn-north-1.amazonaws.com.cn", "cn-north-1"),
    ],
)
def test_every_host_of_an_ecr_registry_names_its_account_and_region(host: str, region: str) -> None:
    assert ecr_registry(f"{host}/shine@sha256:abc") == EcrRegistry("111122223333", region)
    assert ecr_registry(host) == EcrRegistry("111122223333", region)


@pytest.mark.parametrize(
    "reference", ["registry.example.com/shine:1", "127.0.0.1:5000/shine", "public.ecr.aws/shine/app:1"]
)
def test_other_registries_are_not_ecr(reference: str) -> None:
    assert ecr_registry(reference) is None
