"""The CloudWatch Logs calls snailtrail makes to read a task's output and find its log group; nothing here decides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from snailtrail.aws.session import AwsClients


class LogsApi:
    def __init__(self, clients: AwsClients) -> None:
        self._logs = clients.client("logs")

    def last_events(self, group: str, stream: str, limit: int) -> list[dict[str, Any]] | None:
        """The stream's newest ``limit`` events, oldest first; None when the group or stream does not exist.

        startFromHead=False reads from the end of the stream (GetLogEvents, CloudWatch Logs API reference).
        """
        try:
            answer = self._logs.get_log_events(
                logGroupName=group, logStreamName=stream, startFromHead=False, limit=limit
            )
        except self._logs.exceptions.ResourceNotFoundException:
            return None
        return answer["events"]

    def events_after(self, group: str, stream: str, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The stream's events after ``token`` (from its start when None), oldest first, and the token to go on
        from; none while the stream does not exist yet. GetLogEvents answers the same nextForwardToken once
        it has nothing newer (CloudWatch Logs API reference)."""
        events: list[dict[str, Any]] = []
        while True:
            extra = {"nextToken": token} if token else {}
            try:
                answer = self._logs.get_log_events(
                    logGroupName=group, logStreamName=stream, startFromHead=True, **extra
                )
            except self._logs.exceptions.ResourceNotFoundException:
                return events, token
            events.extend(answer["events"])
            if not answer["events"] or answer.get("nextForwardToken") in (None, token):
                return events, answer.get("nextForwardToken") or token
            token = answer["nextForwardToken"]

    def events_since(self, group: str, stream_prefix: str, start_ms: int) -> Iterator[dict[str, Any]]:
        """Every event from ``start_ms`` on in the group's streams named with this prefix, through
        FilterLogEvents' paginator; nothing when the group does not exist (yet)."""
        paginator = self._logs.get_paginator("filter_log_events")
        try:
            for page in paginator.paginate(logGroupName=group, logStreamNamePrefix=stream_prefix, startTime=start_ms):
                yield from page["events"]
        except self._logs.exceptions.ResourceNotFoundException:
            return

    def log_group_exists(self, name: str) -> bool:
        # Every page: DescribeLogGroups may answer a page without the group and a nextToken.
        pages = self._logs.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=name)
        return any(g["logGroupName"] == name for page in pages for g in page["logGroups"])
