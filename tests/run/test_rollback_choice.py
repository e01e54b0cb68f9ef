"""What `snailtrail rollback` (with --to ARN, --to PHASE, or nothing) returns to: a verified ACTIVE revision
of the service's own family, or an error naming why not (rollback_choice.py).

The context holds only what choose_target reads; tests/commands/test_rollback.py drives the same choices
through the CLI and the in-process sandbox.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.aws.ecs import TAG_PHASE
from snailtrail.errors import ConfigError, RollbackFailed
from snailtrail.run.rollback_choice import choose_target
from tests.state.test_history import ARN, History, live, revision


def context(history: History, events: list[dict[str, Any]] | None = None, running: int = 3) -> Any:
    """The service runs revision ``running``, deployed at 12:00; phases phase-1 to phase-3."""
    service = {
        "taskDefinition": ARN.format(running),
        "deployments": [{"status": "PRIMARY", "taskDefinition": ARN.format(running), "createdAt": "2026-11-25T12:00"}],
    }

    def phase(wanted: str) -> Any:
        if wanted not in ("phase-1", "phase-2", "phase-3"):
            raise ConfigError(f"no phase {wanted}", fix="name a phase")
        return SimpleNamespace(name=wanted)

    return SimpleNamespace(
        settings=SimpleNamespace(service=SimpleNamespace(task_family="shine")),
        history=history,
        phase=phase,
        live_service=service,
        trail=SimpleNamespace(events=lambda: events or []),
    )


def test_no_target_returns_to_the_verified_revision_live_before_the_current_deployment() -> None:
    history = History(revision(1, "2026-11-25T10:05"), revision(2, "2026-11-25T11:05"), revision(3))
    events = [live(1, "2026-11-25T10:00"), live(2, "2026-11-25T11:00"), live(3, "2026-11-25T12:00")]

    assert choose_target(context(history, events), None).arn == ARN.format(2)


def test_no_target_never_returns_to_the_running_revision_though_it_is_the_newest_verified() -> None:
    history = History(revision(2, "2026-11-25T11:05"), revision(3, "2026-11-25T12:05"))

    assert choose_target(context(history, []), None).arn == ARN.format(2)


def test_no_target_ignores_what_went_live_after_the_current_deployment_began() -> None:
    history = History(revision(1, "2026-11-25T10:05"), revision(2, "2026-11-25T11:05"), revision(3))
    events = [live(1, "2026-11-25T10:00"), live(2, "2026-11-25T11:00"), live(1, "2026-11-25T12:30")]

    assert choose_target(context(history, events), None).arn == ARN.format(2)


def test_no_target_with_nothing_verified_fails_saying_so() -> None:
    history = History(revision(2), revision(3))

    with pytest.raises(RollbackFailed) as failed:
        choose_target(context(history, [live(3, "2026-11-25T12:00")]), None)

    assert str(failed.value) == f"no verified deployment other than the current {ARN.format(3)} exists"
    assert failed.value.fix == (
        "deploy a phase and let it verify; `snailtrail rollback --list` shows each candidate and why it is not eligible"
    )


def test_a_verified_active_arn_of_the_family_is_the_target() -> None:
    history = History(revision(1, "2026-11-25T10:05"), revision(3))

    assert choose_target(context(history), ARN.format(1)).arn == ARN.format(1)


def test_an_arn_of_another_family_is_refused_naming_the_family() -> None:
    other = "arn:aws:ecs:us-east-1:123456789012:task-definition/billing:4"

    with pytest.raises(ConfigError) as refused:
        choose_target(context(History()), other)

    assert str(refused.value) == f"{other} is not a revision of shine"
    assert refused.value.fix == "name a revision of the service's own task-definition family"


def test_an_arn_that_cannot_be_described_is_refused_with_awss_answer() -> None:
    history = History(refused={ARN.format(1): "not authorized"})

    with pytest.raises(ConfigError) as refused:
        choose_target(context(history), ARN.format(1))

    assert str(refused.value) == "shine:1 cannot be described: not authorized"
    assert refused.value.fix == "`snailtrail status` and the trail list the verified revisions"


def test_an_arn_never_verified_is_refused() -> None:
    with pytest.raises(ConfigError) as refused:
        choose_target(context(History(revision(1))), ARN.format(1))

    assert str(refused.value) == f"{ARN.format(1)} was never verified"
    assert refused.value.fix == (
        "roll back to a verified revision: `snailtrail rollback --list` lists them, or use --to PHASE"
    )


def test_a_deregistered_arn_is_refused_naming_its_status() -> None:
    history = History(revision(1, "2026-11-25T10:05", status="INACTIVE"))

    with pytest.raises(ConfigError) as refused:
        choose_target(context(history), ARN.format(1))

    assert str(refused.value) == f"{ARN.format(1)} is INACTIVE: ECS no longer starts a deregistered revision"
    assert refused.value.fix == "`snailtrail rollback --list` shows the eligible revisions"


def test_a_phase_returns_to_its_most_recently_verified_active_revision() -> None:
    history = History(
        revision(4, "2026-11-25T09:00"),  # phase-4's tags: not phase-1
        revision(5, "2026-11-25T11:00", status="INACTIVE"),
        revision(6, "2026-11-25T10:00"),
        revision(7, "2026-11-25T08:00"),
    )
    for number in (5, 6, 7):
        history.revisions[ARN.format(number)].tags[TAG_PHASE] = "phase-1"

    assert choose_target(context(history), "phase-1").arn == ARN.format(6)


def test_a_phase_verified_at_the_same_time_twice_returns_to_the_higher_revision() -> None:
    history = History(revision(6, "2026-11-25T10:00"), revision(7, "2026-11-25T10:00"))
    for number in (6, 7):
        history.revisions[ARN.format(number)].tags[TAG_PHASE] = "phase-1"

    assert choose_target(context(history), "phase-1").arn == ARN.format(7)


def test_a_phase_whose_verified_revisions_are_all_deregistered_fails_counting_them() -> None:
    history = History(revision(5, "2026-11-25T11:00", status="INACTIVE"), revision(6, "2026-11-25T10:00", "INACTIVE"))
    for number in (5, 6):
        history.revisions[ARN.format(number)].tags[TAG_PHASE] = "phase-1"

    with pytest.raises(RollbackFailed) as failed:
        choose_target(context(history), "phase-1")

    assert str(failed.value) == "phase-1 has no verified ACTIVE revision (2 verified, all deregistered)"
    assert failed.value.fix == "deploy it first, or choose another phase"


def test_a_phase_never_verified_fails_without_a_count() -> None:
    with pytest.raises(RollbackFailed) as failed:
        choose_target(context(History(revision(2, "2026-11-25T11:00"))), "phase-1")

    assert str(failed.value) == "phase-1 has no verified ACTIVE revision"
