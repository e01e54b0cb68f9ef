"""The record of a blue-green or canary rollout in progress, in the state table.

It says which colour is old and which is new, and carries an operator's request (``abort`` or
``promote``) to the deploy that is baking: `snailtrail abort` must work from another terminal, or
another machine, while the deploy holds the lock.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.trail import current_actor, now_iso

ABORT, PROMOTE = "abort", "promote"
FIELDS = ("run_id", "phase", "old_service", "new_service", "old_target_group", "new_target_group", "listener", "since")


class InFlight:
    def __init__(self, clients: AwsClients, table: str, environment: str, service: str) -> None:
        self._dynamodb = clients.client("dynamodb")
        self._table = table
        self._key = {"pk": {"S": f"rollout#{environment}#{service}"}, "sk": {"S": "rollout"}}

    def begin(self, record: dict[str, str]) -> None:
        item = self._key | {name: {"S": record[name]} for name in FIELDS if name != "since"}
        self._dynamodb.put_item(TableName=self._table, Item=item | {"since": {"S": now_iso()}})

    def read(self) -> dict[str, str] | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return {k: v["S"] for k, v in item.items() if k not in ("pk", "sk")}

    def request(self, action: str, reason: str) -> bool:
        """Ask the baking deploy to abort or promote; False when no rollout is in flight."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key,
                # "request" is a DynamoDB reserved word: every name goes through a placeholder.
                UpdateExpression="SET #request = :action, #by = :by, #at = :at, #reason = :reason",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={
                    "#request": "request",
                    "#by": "requested_by",
                    "#at": "requested_at",
                    "#reason": "reason",
                },
                ExpressionAttributeValues={
                    ":action": {"S": action},
                    ":by": {"S": current_actor()},
                    ":at": {"S": now_iso()},
                    ":reason": {"S": reason},
                },
            )
        except ClientError as exc:
            if exc.response["Error"]["Code"] == "ConditionalCheckFailedException":
                return False
            raise
        return True

    def end(self) -> None:
        self._dynamodb.delete_item(TableName=self._table, Key=self._key)


def describe_request(record: dict[str, Any]) -> str:
    reason = f": {record['reason']}" if record.get("reason") else ""
    return f"`snailtrail {record['request']}` by {record.get('requested_by')} at {record.get('requested_at')}{reason}"
