"""The account-level reads doctor makes: who the caller is, and the state table; nothing here decides."""

from __future__ import annotations

from typing import Any

from snailtrail.aws.missing import none_if_missing
from snailtrail.aws.session import AwsClients


class AccountApi:
    def __init__(self, clients: AwsClients) -> None:
        self._clients = clients

    def caller(self) -> dict[str, Any]:
        """GetCallerIdentity: the caller's Arn, Account and UserId (it needs no permission)."""
        return dict(self._clients.client("sts").get_caller_identity())

    def table(self, name: str) -> dict[str, Any] | None:
        """The DynamoDB table's description, or None when it does not exist; a refusal is raised."""
        dynamodb = self._clients.client("dynamodb")
        return none_if_missing("ResourceNotFoundException", lambda: dynamodb.describe_table(TableName=name)["Table"])
