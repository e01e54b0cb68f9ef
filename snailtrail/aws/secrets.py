"""Whether the secrets a task definition references exist: SSM parameters and Secrets Manager
secrets, asked through describe calls only (a secret's value is never read); nothing here decides."""

from __future__ import annotations

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients


def parameter_names(value_from: str) -> list[str]:
    """The parameter names a valueFrom can mean: the ARN of ``name`` and of ``/name`` both end in
    ``parameter/name``, so an ARN is looked up both ways; a bare name is the name itself."""
    if ":parameter" not in value_from:
        return [value_from]
    name = value_from.split(":parameter", 1)[1].lstrip("/")
    return [name, f"/{name}"]


class SecretsApi:
    def __init__(self, clients: AwsClients) -> None:
        # Each client is made on first use: most task definitions reference one kind or none.
        self._clients = clients

    def exists(self, value_from: str) -> bool:
        """ECS takes a Secrets Manager secret as its ARN, optionally followed by
        ``:json-key:version-stage:version-id``, and an SSM parameter as its ARN or, in the task's own
        region, its bare name (ECS developer guide, "Pass sensitive data to an Amazon ECS container")."""
        if ":secretsmanager:" in value_from:
            return self._secret_exists(value_from)
        # A page may hold fewer results than asked, even none, and still carry a NextToken (SSM API
        # reference, DescribeParameters): only the paginator reads them all.
        pages = (
            self._clients.client("ssm")
            .get_paginator("describe_parameters")
            .paginate(ParameterFilters=[{"Key": "Name", "Option": "Equals", "Values": parameter_names(value_from)}])
        )
        return any(page["Parameters"] for page in pages)

    def _secret_exists(self, value_from: str) -> bool:
        # arn:aws:secretsmanager:region:account:secret:name-AbCdEf[:json-key:version-stage:version-id]
        secret_id = ":".join(value_from.split(":")[:7])
        described = none_if_missing(
            "ResourceNotFoundException",
            lambda: self._clients.client("secretsmanager").describe_secret(SecretId=secret_id),
        )
        return described is not None
