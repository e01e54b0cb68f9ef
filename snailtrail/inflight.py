"""The record of a blue-green or canary rollout in progress, in the state table.

It says which colour is old and which is new, and carries an operator's request (``abort`` or
``promote``) to the deploy that is baking: `snailtrail abort` must work from another terminal, or
another machine, while the deploy holds the lock. Once the new colour has passed its last bake the
deploy marks the record ``committing`` (only if no request arrived first); from then on an abort is
refused, because the old colour is about to be scaled down: `snailtrail rollback` is the way back.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients
from snailtrail.errors import DeployFailed
from snailtrail.trail import current_actor, now_iso

ABORT, PROMOTE = "abort", "promote"
COMMITTING = "committing"
FIELDS = (
    "run_id",
    "phase",
    "old_service",
    "new_service",
    "old_target_group",
    "new_target_group",
    "listener",  # the ARN of the listener or listener rule whose forward moves
    "restore_actions",  # JSON: its actions as an abort writes them back
)


def _conditional_failed(exc: ClientError) -> bool:
    return exc.response["Error"]["Code"] == "ConditionalCheckFailedException"


class InFlight:
    def __init__(self, clients: AwsClients, table: str, environment: str, service: str) -> None:
        self._dynamodb = clients.client("dynamodb")
        self._table = table
        self._key = {"pk": {"S": f"rollout#{environment}#{service}"}, "sk": {"S": "rollout"}}

    def begin(self, record: dict[str, str]) -> None:
        """Record this run's rollout; refused while another one's record is still there."""
        item = self._key | {name: {"S": record[name]} for name in FIELDS} | {"since": {"S": now_iso()}}
        try:
            self._dynamodb.put_item(TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            earlier = self.read() or {}
            raise DeployFailed(
                f"an earlier rollout is still recorded in flight (run {earlier.get('run_id')}, "
                f"{earlier.get('old_service')} -> {earlier.get('new_service')}, since {earlier.get('since')})",
                fix="`snailtrail abort` returns its traffic to the old colour and closes it; then deploy again",
            ) from None

    def read(self) -> dict[str, str] | None:
        item = self._dynamodb.get_item(TableName=self._table, Key=self._key, ConsistentRead=True).get("Item")
        if not item:
            return None
        return {k: v["S"] for k, v in item.items() if k not in ("pk", "sk")}

    def request(self, action: str, reason: str) -> dict[str, str] | None:
        """Ask the baking deploy to abort or promote. None when no rollout is in flight; raises when
        the rollout is already committing."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key,
                # "request" is a DynamoDB reserved word: every name goes through a placeholder.
                UpdateExpression="SET #request = :action, #by = :by, #at = :at, #reason = :reason",
                ConditionExpression="attribute_exists(pk) AND (attribute_not_exists(#stage) OR #stage <> :committing)",
                ExpressionAttributeNames={
                    "#request": "request",
                    "#by": "requested_by",
                    "#at": "requested_at",
                    "#reason": "reason",
                    "#stage": "stage",
                },
                ExpressionAttributeValues={
                    ":action": {"S": action},
                    ":by": {"S": current_actor()},
                    ":at": {"S": now_iso()},
                    ":reason": {"S": reason},
                    ":committing": {"S": COMMITTING},
                },
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise
            record = self.read()
            if record is None:
                return None
            raise DeployFailed(
                f"the rollout of {record.get('new_service')} is committing: it passed its last bake and its "
                f"old colour {record.get('old_service')} is being scaled down",
                fix="`snailtrail rollback` returns the live colour to the last verified revision before it",
            ) from None
        return self.read()

    def commit(self, run_id: str) -> bool:
        """Mark this run's rollout committing; False when an operator's abort came first."""
        try:
            self._dynamodb.update_item(
                TableName=self._table,
                Key=self._key,
                UpdateExpression="SET #stage = :committing",
                ConditionExpression="#run = :run AND (attribute_not_exists(#request) OR #request <> :abort)",
                ExpressionAttributeNames={"#stage": "stage", "#run": "run_id", "#request": "request"},
                ExpressionAttributeValues={
                    ":committing": {"S": COMMITTING},
                    ":run": {"S": run_id},
                    ":abort": {"S": ABORT},
                },
            )
        except ClientError as exc:
            if _conditional_failed(exc):
                return False
            raise
        return True

    def end(self, run_id: str) -> None:
        """Close this run's record (another run's, after a lost lock, stays)."""
        try:
            self._dynamodb.delete_item(
                TableName=self._table,
                Key=self._key,
                ConditionExpression="#run = :run",
                ExpressionAttributeNames={"#run": "run_id"},
                ExpressionAttributeValues={":run": {"S": run_id}},
            )
        except ClientError as exc:
            if not _conditional_failed(exc):
                raise


def describe_request(record: dict[str, Any]) -> str:
    reason = f": {record['reason']}" if record.get("reason") else ""
    return f"`snailtrail {record['request']}` by {record.get('requested_by')} at {record.get('requested_at')}{reason}"
