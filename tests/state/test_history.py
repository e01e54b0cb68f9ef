"""Which verified revision a rollback returns to, and why each other candidate is or is not one (history.py).

The trail and the revisions are given directly (a context with only what rollback_choice reads), so each
case states its timeline; tests/commands/test_rollback.py drives the same choices through the CLI.
"""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from snailtrail.aws.ecs import TAG_FINGERPRINT, TAG_PHASE, TAG_VERIFIED
from snailtrail.plan.taskdef import Revision, fingerprint
from snailtrail.state.history import (
    current_deployment,
    ineligibility,
    parse_time,
    rollback_choice,
    rollback_target,
    unfinished_rollback,
    went_live,
)

ARN = "arn:aws:ecs:us-east-1:123456789012:task-definition/shine:{}"


def revision(number: int, verified_at: str | None = None, status: str = "ACTIVE") -> Revision:
    """A revision as snailtrail registers it: tagged with its own definition's fingerprint."""
    definition = {"status": status}
    tags = {TAG_PHASE: f"phase-{number}", TAG_FINGERPRINT: fingerprint(definition)}
    return Revision(ARN.format(number), definition, tags | ({TAG_VERIFIED: verified_at} if verified_at else {}))


class History:
    """The family's revisions as RevisionHistory answers for them; counts each describe."""

    def __init__(self, *revisions: Revision, refused: dict[str, str] | None = None) -> None:
        self.revisions = {r.arn: r for r in revisions}
        self.refused = refused or {}
        self.described: list[str] = []

    def verified(self) -> list[Revision]:
        return [r for r in self.revisions.values() if r.verified_at]

    def get(self, arn: str) -> Revision:
        self.described.append(arn)
        if arn in self.refused:
            raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": self.refused[arn]}}, "Describe")
        return self.revisions[arn]


def context(history: History, events: list[dict[str, Any]]) -> Any:
    return SimpleNamespace(history=history, trail=SimpleNamespace(events=lambda: events))


def live(number: int, at: str, kind: str = "step", step: str = "update", ok: bool = True) -> dict[str, Any]:
    """A trail event that put revision ``number`` live at ``at`` (a rolling update, by default)."""
    return {"kind": kind, "at": at, "ok": ok, "task_definition": ARN.format(number), "data": {"step": step}}


def moment(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def test_went_live_lists_updates_creates_and_finished_deploys_that_succeeded_oldest_first() -> None:
    events = [
        live(4, "2026-11-25T13:00:00", ok=False),  # a failed update put nothing live
        {"kind": "step", "at": "2026-11-25T13:30:00", "ok": True, "task_definition": ARN.format(7)},  # no step
        live(3, "2026-11-25T12:00:00", kind="deploy.finished"),
        live(1, "2026-11-25T10:00:00", step="create"),
        live(2, "2026-11-25T11:00:00"),
        live(5, "2026-11-25T14:00:00", step="register"),  # registering a revision is not running it
        {"kind": "deploy.started", "at": "2026-11-25T15:00:00", "ok": True, "task_definition": ARN.format(6)},
        {"kind": "step", "at": "2026-11-25T16:00:00", "ok": True, "data": {"step": "update"}},
    ]

    assert went_live(events) == [
        (moment("2026-11-25T10:00:00"), ARN.format(1)),
        (moment("2026-11-25T11:00:00"), ARN.format(2)),
        (moment("2026-11-25T12:00:00"), ARN.format(3)),
    ]


def test_a_time_without_a_zone_is_read_as_utc_and_one_with_a_zone_is_kept() -> None:
    assert parse_time("2026-11-25T10:00:00") == moment("2026-11-25T10:00:00")
    assert parse_time("2026-11-25T10:00:00+01:00") == moment("2026-11-25T09:00:00")
    given = datetime(2026, 11, 25, 10, tzinfo=UTC)
    assert parse_time(given) is given


def test_the_current_deployment_is_the_primary_ones_revision_since_its_creation() -> None:
    service = {
        "taskDefinition": ARN.format(1),
        "deployments": [
            {"status": "ACTIVE", "taskDefinition": ARN.format(1), "createdAt": "2026-11-25T09:00:00"},
            {"status": "PRIMARY", "taskDefinition": ARN.format(2), "createdAt": "2026-11-25T10:00:00"},
        ],
    }
    assert current_deployment(service) == (ARN.format(2), moment("2026-11-25T10:00:00"))
    assert current_deployment({"taskDefinition": ARN.format(1), "deployments": []}) == (ARN.format(1), None)
    assert current_deployment(None) == (None, None)


def test_a_rollback_started_and_never_finished_is_unfinished_until_a_deploy_or_its_end() -> None:
    started = {"kind": "rollback.started", "task_definition": ARN.format(1)}
    assert unfinished_rollback([started]) == ARN.format(1)
    assert unfinished_rollback([started, {"kind": "rollback.finished"}]) is None
    assert unfinished_rollback([started, {"kind": "deploy.started"}]) is None
    assert unfinished_rollback([started, {"kind": "step"}]) == ARN.format(1)
    assert unfinished_rollback([]) is None


@pytest.mark.parametrize(
    ("candidate", "error", "why"),
    [
        (None, "AccessDenied", "cannot be described: AccessDenied"),
        (revision(1, "2026-11-25", status="INACTIVE"), None, "INACTIVE: deregistered, ECS no longer starts it"),
        (revision(1), None, "never verified"),
        (revision(1, "2026-11-25"), None, None),
    ],
)
def test_a_revision_is_a_rollback_target_only_when_described_active_and_verified(
    candidate: Revision | None, error: str | None, why: str | None
) -> None:
    assert ineligibility(candidate, error) == why


def three_deploys() -> tuple[History, list[dict[str, Any]]]:
    """Revisions 1 and 2 verified and live in turn, then 3 deployed at 12:00 and running."""
    history = History(revision(1, "2026-11-25T10:05:00"), revision(2, "2026-11-25T11:05:00"), revision(3))
    events = [live(1, "2026-11-25T10:00:00"), live(2, "2026-11-25T11:00:00"), live(3, "2026-11-25T12:00:00")]
    return history, events


def test_the_default_is_the_last_verified_revision_live_before_the_current_deployment() -> None:
    history, events = three_deploys()

    choice = rollback_choice(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(2)
    assert [c.to_json() for c in choice.candidates] == [
        {
            "task_definition": ARN.format(3),
            "phase": "phase-3",
            "verified_at": None,
            "last_live_at": "2026-11-25T12:00:00.000+00:00",
            "eligible": False,
            "reason": "the current revision: the service runs it",
            "default": False,
            "schema": None,
        },
        {
            "task_definition": ARN.format(2),
            "phase": "phase-2",
            "verified_at": "2026-11-25T11:05:00",
            "last_live_at": "2026-11-25T11:00:00.000+00:00",
            "eligible": True,
            "reason": "default: the last verified revision live before the current deployment",
            "default": True,
            "schema": None,
        },
        {
            "task_definition": ARN.format(1),
            "phase": "phase-1",
            "verified_at": "2026-11-25T10:05:00",
            "last_live_at": "2026-11-25T10:00:00.000+00:00",
            "eligible": True,
            "reason": "eligible: verified and ACTIVE (`rollback --to` it)",
            "default": False,
            "schema": None,
        },
    ]
    listed = choice.to_json()  # what `rollback --list --json` prints
    assert listed["current"] == ARN.format(3) and listed["default_target"] == ARN.format(2)
    assert listed["current_deployment_started"] == "2026-11-25T12:00:00+00:00"
    assert listed["candidates"] == [c.to_json() for c in choice.candidates]


def test_a_revision_live_again_after_the_current_deployment_began_does_not_count_as_live_before_it() -> None:
    history, events = three_deploys()
    # Revision 1 went live again at 12:30, after the deployment of 3 began (ECS's own rollback, say).
    events.append(live(1, "2026-11-25T12:30:00"))

    choice = rollback_choice(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(2)


def test_a_deregistered_revision_is_passed_over_for_the_one_live_before_it() -> None:
    history, events = three_deploys()
    history.revisions[ARN.format(2)] = revision(2, "2026-11-25T11:05:00", status="INACTIVE")

    choice = rollback_choice(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(1)
    reasons = {c.arn: c.reason for c in choice.candidates}
    assert reasons[ARN.format(2)] == "INACTIVE: deregistered, ECS no longer starts it"


def test_without_a_trail_the_default_is_the_most_recently_verified_revision() -> None:
    history, _ = three_deploys()

    choice = rollback_choice(context(history, []), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(2)
    assert choice.default.reason == (
        "default: the most recently verified (the trail shows no verified revision live before the current deployment)"
    )
    assert choice.default.last_live_at is None


def test_the_most_recently_verified_wins_over_the_highest_number_without_a_trail() -> None:
    history = History(revision(4, "2026-11-25T09:00:00"), revision(2, "2026-11-25T11:00:00"), revision(5))

    choice = rollback_choice(context(history, []), ARN.format(5), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(2)


def test_an_interrupted_rollback_to_the_running_revision_is_finished_rather_than_passed_over() -> None:
    history, events = three_deploys()
    history.revisions[ARN.format(1)] = revision(1, "2026-11-25T10:05:00")
    events += [{"kind": "rollback.started", "at": "2026-11-25T12:10:00", "task_definition": ARN.format(1)}]

    choice = rollback_choice(context(history, events), ARN.format(1), moment("2026-11-25T12:10:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(1)
    assert choice.default.reason == (
        "default: finishes the interrupted rollback to it (the service runs it, not verified since)"
    )


def test_a_revision_that_cannot_be_described_is_listed_with_awss_answer_and_never_chosen() -> None:
    history, events = three_deploys()
    history.refused = {ARN.format(2): "not authorized to DescribeTaskDefinition"}

    choice = rollback_choice(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert choice.default is not None and choice.default.arn == ARN.format(1)
    refused = next(c for c in choice.candidates if c.arn == ARN.format(2))
    assert not refused.eligible and refused.reason == "cannot be described: not authorized to DescribeTaskDefinition"
    assert refused.phase == "phase-2"  # from the tag lookup, as the revision could not be described


def test_the_rollback_target_describes_revisions_only_until_the_default_is_found() -> None:
    history, events = three_deploys()

    target = rollback_target(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert target is not None and target.arn == ARN.format(2)
    assert ARN.format(1) not in history.described and ARN.format(3) not in history.described


def test_with_nothing_verified_there_is_no_rollback_target() -> None:
    history = History(revision(1), revision(2))
    events = [live(1, "2026-11-25T10:00:00"), live(2, "2026-11-25T11:00:00")]

    assert rollback_target(context(history, events), ARN.format(2), moment("2026-11-25T11:00:00")) is None
    choice = rollback_choice(context(history, events), ARN.format(2), moment("2026-11-25T11:00:00"))
    assert choice.default is None and choice.to_json()["default_target"] is None
    assert {c.reason for c in choice.candidates} == {"never verified", "the current revision: the service runs it"}


def test_after_a_rollback_the_revision_rolled_back_to_is_what_ran_before_the_next_deploy() -> None:
    history = History(revision(1, "2026-11-25T09:05:00"), revision(2, "2026-11-25T10:05:00"), revision(3))
    events = [
        live(1, "2026-11-25T09:00:00"),
        live(2, "2026-11-25T10:00:00"),
        live(1, "2026-11-25T11:00:00", step="update"),  # rolled back to 1
        live(3, "2026-11-25T12:00:00"),
    ]

    target = rollback_target(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert target is not None and target.arn == ARN.format(1)


def test_without_a_deployment_start_everything_the_trail_put_live_so_far_counts_as_before() -> None:
    history, events = three_deploys()

    choice = rollback_choice(context(history, events), ARN.format(3))

    assert choice.default is not None and choice.default.arn == ARN.format(2)
    assert choice.to_json()["current_deployment_started"] is None


def test_the_trail_the_caller_already_read_is_used_instead_of_reading_it_again() -> None:
    history, events = three_deploys()
    unreadable = SimpleNamespace(history=history, trail=SimpleNamespace(events=lambda: pytest.fail("read again")))

    choice = rollback_choice(unreadable, ARN.format(3), moment("2026-11-25T12:00:00"), events=events)

    assert choice.default is not None and choice.default.arn == ARN.format(2)


def test_without_a_trail_the_rollback_target_is_never_the_running_revision_even_the_newest_verified() -> None:
    history = History(revision(1, "2026-11-25T10:05:00"), revision(2, "2026-11-25T11:05:00"))

    target = rollback_target(context(history, []), ARN.format(2), moment("2026-11-25T12:00:00"))

    assert target is not None and target.arn == ARN.format(1)


def test_the_rollback_target_ignores_what_went_live_after_the_current_deployment_began() -> None:
    history, events = three_deploys()
    events.append(live(1, "2026-11-25T12:30:00"))

    target = rollback_target(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    assert target is not None and target.arn == ARN.format(2)


def test_the_rollback_target_does_not_describe_the_running_revision() -> None:
    history, events = three_deploys()
    # ECS started a new deployment of revision 3 (force new deployment) at 12:10, after snailtrail's update.
    target = rollback_target(context(history, events), ARN.format(3), moment("2026-11-25T12:10:00"))

    assert target is not None and target.arn == ARN.format(2)
    assert history.described == [ARN.format(2), ARN.format(2)]  # judged, then returned


def test_a_revision_unreachable_for_a_network_error_is_listed_with_the_error() -> None:
    from botocore.exceptions import EndpointConnectionError

    history, events = three_deploys()
    original = history.get

    def unreachable(arn: str) -> Revision:
        if arn == ARN.format(2):
            raise EndpointConnectionError(endpoint_url="https://ecs.us-east-1.amazonaws.com")
        return original(arn)

    history.get = unreachable  # type: ignore[method-assign]
    choice = rollback_choice(context(history, events), ARN.format(3), moment("2026-11-25T12:00:00"))

    reasons = {c.arn: c.reason for c in choice.candidates}
    assert reasons[ARN.format(2)] == (
        'cannot be described: Could not connect to the endpoint URL: "https://ecs.us-east-1.amazonaws.com"'
    )
    assert choice.default is not None and choice.default.arn == ARN.format(1)
