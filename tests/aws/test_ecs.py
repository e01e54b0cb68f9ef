"""ECS's answers the service layer must read as AWS gives them."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from snailtrail.aws.ecs import EcsApi


class Clients:
    def __init__(self, ecs: object) -> None:
        self._ecs = ecs

    def client(self, name: str) -> object:
        return self._ecs


@pytest.mark.parametrize("code", ["ServiceNotActiveException", "ServiceNotFoundException"])
def test_scaling_a_deleted_service_to_zero_is_nothing_to_do(aws_env: None, code: str) -> None:
    """A service being deleted (DRAINING) or deleted (INACTIVE): UpdateService answers ServiceNotActiveException."""
    ecs = boto3.client("ecs", region_name="us-east-1")
    with Stubber(ecs) as stub:
        stub.add_client_error("update_service", service_error_code=code, service_message="Service was not ACTIVE.")
        assert EcsApi(Clients(ecs), "shine").scale_to_zero("shine-green") is False
