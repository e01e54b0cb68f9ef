"""The account-level reads doctor makes: who the caller is, and the state table; nothing here decides."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients


class AccountApi:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def caller(self) -> dict[str, Any]:
        """GetCallerIdentity: the caller's Arn, Account and UserId (it needs no permission)."""
        return dict(self._clients.client("sts").get_caller_identity())

    def table(self, name: str) -> dict[str, Any] | None:
        """The DynamoDB table's description, or None when it does not exist; a refusal is raised."""
        try:
            return self._clients.client("dynamodb").describe_table(TableName=name)["Table"]
        except ClientError as exc:
            if exc.response["Error"]["Code"] != "ResourceNotFoundException":
                raise
            return None
