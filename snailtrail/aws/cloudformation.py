"""The CloudFormation calls `snailtrail infra` makes: a stack, its change sets, its events; nothing here decides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from botocore.exceptions import ClientError

from snailtrail.aws.session import AwsClients

# The template creates named IAM roles: CreateChangeSet refuses it without this acknowledgement.
# https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateChangeSet.html
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


class CloudFormationApi:
    def __init__(self, clients: AwsClients) -> None:
        self._cfn = clients.client("cloudformation")

    def stack(self, name: str) -> dict[str, Any] | None:
        """The stack's description, or None when there is none; CloudFormation says "does not exist" with a
        ValidationError, which it also uses for other refusals, so only that message means missing."""
        try:
            return dict(self._cfn.describe_stacks(StackName=name)["Stacks"][0])
        except ClientError as exc:
            error = exc.response["Error"]
            if error["Code"] == "ValidationError" and "does not exist" in error.get("Message", ""):
                return None
            raise

    def create_change_set(
        self, stack: str, change_set: str, body: str, parameters: dict[str, str], change_set_type: str
    ) -> str:
        """CreateChangeSet of type CREATE (a new stack) or UPDATE; returns its id."""
        answer = self._cfn.create_change_set(
            StackName=stack,
            ChangeSetName=change_set,
            ChangeSetType=change_set_type,
            TemplateBody=body,
            Parameters=[{"ParameterKey": key, "ParameterValue": value} for key, value in sorted(parameters.items())],
            Capabilities=CAPABILITIES,
        )
        return str(answer["Id"])

    def change_set(self, change_set_id: str) -> dict[str, Any]:
        """DescribeChangeSet with every page of its changes, and each property's before and after values."""
        pages: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            extra = {"NextToken": token} if token else {}
            page = self._cfn.describe_change_set(ChangeSetName=change_set_id, IncludePropertyValues=True, **extra)
            pages.append(page)
            token = page.get("NextToken")
            if not token:
                break
        first = dict(pages[0])
        first["Changes"] = [change for page in pages for change in page.get("Changes", [])]
        return first

    def execute_change_set(self, change_set_id: str) -> None:
        self._cfn.execute_change_set(ChangeSetName=change_set_id)

    def delete_change_set(self, change_set_id: str) -> None:
        self._cfn.delete_change_set(ChangeSetName=change_set_id)

    def delete_stack(self, name: str) -> None:
        self._cfn.delete_stack(StackName=name)

    def events(self, stack: str) -> Iterator[dict[str, Any]]:
        """The stack's events, newest first, page by page (the caller stops when it reaches one it has seen)."""
        token: str | None = None
        while True:
            extra = {"NextToken": token} if token else {}
            page = self._cfn.describe_stack_events(StackName=stack, **extra)
            yield from page.get("StackEvents", [])
            token = page.get("NextToken")
            if not token:
                return
