"""`snailtrail infra plan|up`: the environment's stack through CloudFormation change sets.

CloudFormation does the work (ordering, waiting on each resource, rolling back a failed update);
snailtrail shows the change set before anything changes, streams the stack's events while it runs and
names the resource that failed with CloudFormation's own reason.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from snailtrail.aws.cloudformation import CloudFormationApi
from snailtrail.aws.session import AwsClients
from snailtrail.errors import ConfigError, DeployFailed
from snailtrail.infra.template import StackInputs

# CloudFormation's answer to a change set that changes nothing (the stack is already as the template says).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-updating-stacks-changesets-create.html
NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
MARKS = {"Add": "+", "Modify": "~", "Remove": "-", "Import": ">", "Dynamic": "?"}


@dataclass(frozen=True)
class ResourceChange:
    action: str
    logical_id: str
    resource_type: str
    replacement: str | None = None
    properties: tuple[str, ...] = ()

    @classmethod
    def from_change(cls, change: dict[str, Any]) -> ResourceChange:
        resource = change.get("ResourceChange", {})
        properties = []
        for detail in resource.get("Details", []):
            target = detail.get("Target", {})
            name = target.get("Path") or target.get("Name") or target.get("Attribute", "")
            before, after = target.get("BeforeValue"), target.get("AfterValue")
            properties.append(f"{name}: {before} -> {after}" if before is not None or after is not None else name)
        return cls(
            resource.get("Action", "?"),
            resource.get("LogicalResourceId", "?"),
            resource.get("ResourceType", "?"),
            resource.get("Replacement") if resource.get("Action") == "Modify" else None,
            tuple(dict.fromkeys(properties)),
        )

    def lines(self) -> list[str]:
        head = f"{MARKS.get(self.action, '?')} {self.logical_id} ({self.resource_type})"
        if self.replacement in ("True", "Conditional"):
            head += " REPLACED" if self.replacement == "True" else " may be replaced"
        return [head, *(f"    {p}" for p in self.properties)]

    def to_json(self) -> dict[str, Any]:
        return {
            "action": self.action,
            "logical_id": self.logical_id,
            "type": self.resource_type,
            "replacement": self.replacement,
            "properties": list(self.properties),
        }


@dataclass
class InfraResult:
    """A plan (the change set, not executed) or an `up` (executed, or nothing to do)."""

    stack_name: str
    creating: bool
    changes: list[ResourceChange] = field(default_factory=list)
    executed: bool = False
    status: str | None = None
    outputs: dict[str, str] = field(default_factory=dict)

    @property
    def no_changes(self) -> bool:
        return not self.changes

    def render(self) -> str:
        if self.no_changes:
            lines = [f"stack {self.stack_name}: no changes"]
        else:
            verb = "creates" if self.creating else "updates"
            what = "created" if self.executed and self.creating else "updated" if self.executed else None
            head = f"stack {self.stack_name}: {what} ({self.status})" if what else f"stack {self.stack_name} {verb}:"
            lines = [head, *(line for change in self.changes for line in change.lines())]
        if self.outputs:
            lines += [
                "outputs (what snailtrail.yaml refers to):",
                *(f"  {k}: {v}" for k, v in sorted(self.outputs.items())),
            ]
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack_name,
            "creating": self.creating,
            "no_changes": self.no_changes,
            "executed": self.executed,
            "status": self.status,
            "changes": [c.to_json() for c in self.changes],
            "outputs": self.outputs,
        }


def _event_line(event: dict[str, Any]) -> str:
    reason = f": {event['ResourceStatusReason']}" if event.get("ResourceStatusReason") else ""
    return f"{event['LogicalResourceId']} ({event.get('ResourceType', '?')}) {event['ResourceStatus']}{reason}"


class StackRun:
    """One change set of one stack, from creation to its end."""

    def __init__(
        self,
        clients: AwsClients,
        inputs: StackInputs,
        poll_interval_s: float = 5.0,
        timeout_s: float = 3600.0,
        on_event: Callable[[str], None] = lambda _line: None,
    ) -> None:
        self.api = CloudFormationApi(clients)
        self.inputs = inputs
        self.poll_interval_s = poll_interval_s
        self.timeout_s = timeout_s
        self.on_event = on_event

    def _stack_state(self) -> tuple[bool, dict[str, Any] | None]:
        """Whether the change set creates the stack, and the stack as it is; a stack CloudFormation cannot
        update is refused with what to do."""
        stack = self.api.stack(self.inputs.stack_name)
        status = stack["StackStatus"] if stack else None
        name = self.inputs.stack_name
        if status == "ROLLBACK_COMPLETE":
            raise ConfigError(
                f"stack {name} failed to create and was rolled back (ROLLBACK_COMPLETE); CloudFormation can only "
                "delete it",
                fix=f"read its events (aws cloudformation describe-stack-events --stack-name {name}), fix the cause, "
                f"delete it (aws cloudformation delete-stack --stack-name {name}) and run `snailtrail infra up` again",
            )
        if status and status.endswith("_IN_PROGRESS") and status != "REVIEW_IN_PROGRESS":
            raise ConfigError(
                f"stack {name} is busy ({status})", fix="wait for that operation to end, then run this again"
            )
        return stack is None or status == "REVIEW_IN_PROGRESS", stack

    def _change_set(self, creating: bool) -> tuple[str, dict[str, Any]]:
        change_set_id = self.api.create_change_set(
            self.inputs.stack_name,
            f"snailtrail-{uuid.uuid4().hex[:12]}",
            self.inputs.body,
            self.inputs.parameters,
            "CREATE" if creating else "UPDATE",
        )
        deadline = time.monotonic() + self.timeout_s
        while True:
            described = self.api.change_set(change_set_id)
            if described["Status"] in ("CREATE_COMPLETE", "FAILED") or time.monotonic() > deadline:
                return change_set_id, described
            time.sleep(self.poll_interval_s)

    def _discard(self, change_set_id: str, creating: bool) -> None:
        """Leave nothing behind: the change set, and the empty stack a CREATE change set made (REVIEW_IN_PROGRESS)."""
        self.api.delete_change_set(change_set_id)
        if creating:
            self.api.delete_stack(self.inputs.stack_name)

    def prepare(self) -> tuple[InfraResult, str | None]:
        """The change set, created and described; its id, or None when it changes nothing (then it is gone)."""
        creating, _ = self._stack_state()
        change_set_id, described = self._change_set(creating)
        result = InfraResult(self.inputs.stack_name, creating)
        if described["Status"] == "FAILED":
            reason = described.get("StatusReason") or ""
            self._discard(change_set_id, creating)
            if any(text in reason for text in NO_CHANGES):
                return result, None
            raise DeployFailed(
                f"CloudFormation refused the change set of stack {self.inputs.stack_name}: {reason}",
                fix="correct the parameter or template it names; nothing was changed",
            )
        result.changes = [ResourceChange.from_change(c) for c in described.get("Changes", [])]
        if not result.changes:
            self._discard(change_set_id, creating)
            return result, None
        return result, change_set_id

    def plan(self) -> InfraResult:
        """The change set as a diff; nothing is executed, and the change set is deleted again."""
        result, change_set_id = self.prepare()
        if change_set_id is not None:
            self._discard(change_set_id, result.creating)
        return result

    def up(self) -> InfraResult:
        """Execute the change set, streaming the stack's events, until the stack settles."""
        result, change_set_id = self.prepare()
        if change_set_id is None:
            stack = self.api.stack(self.inputs.stack_name)
            result.status = stack["StackStatus"] if stack else None
            result.outputs = _outputs(stack)
            return result
        seen = {event["EventId"] for event in self.api.events(self.inputs.stack_name)}
        self.api.execute_change_set(change_set_id)
        result.executed = True
        deadline = time.monotonic() + self.timeout_s
        failures: list[str] = []
        while True:
            failures += self._stream(seen)
            stack = self.api.stack(self.inputs.stack_name)
            status = stack["StackStatus"] if stack else "DELETE_COMPLETE"
            if not status.endswith("_IN_PROGRESS"):
                break
            if time.monotonic() > deadline:
                raise DeployFailed(
                    f"stack {self.inputs.stack_name} still {status} after {self.timeout_s:.0f} s",
                    fix="CloudFormation goes on by itself; run `snailtrail infra up` again later to see where it ended",
                )
            time.sleep(self.poll_interval_s)
        failures += self._stream(seen)
        result.status = status
        result.outputs = _outputs(stack)
        if status not in DONE:
            named = "; ".join(failures) or "no resource reported a reason"
            raise DeployFailed(
                f"stack {self.inputs.stack_name} ended {status}: {named}",
                fix="correct what CloudFormation names (a parameter in snailtrail.yaml's infra block, or the account), "
                "then run `snailtrail infra up` again",
            )
        return result

    def _stream(self, seen: set[str]) -> list[str]:
        """Report the events not seen yet, oldest first; returns the failed resources' lines."""
        fresh = []
        for event in self.api.events(self.inputs.stack_name):
            if event["EventId"] in seen:
                break
            fresh.append(event)
        failures = []
        for event in reversed(fresh):
            seen.add(event["EventId"])
            line = _event_line(event)
            self.on_event(line)
            if (
                event["ResourceStatus"].endswith("_FAILED")
                and event.get("ResourceType") != "AWS::CloudFormation::Stack"
            ):
                failures.append(line)
        return failures


def _outputs(stack: dict[str, Any] | None) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in (stack or {}).get("Outputs", [])}
