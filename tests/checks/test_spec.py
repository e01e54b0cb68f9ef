"""A check is declared once: its name and incidents in @check, its description in its docstring."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from snailtrail.checks import spec
from snailtrail.checks.base import Status, Verdict, fail, ok
from snailtrail.checks.catalogue import guarded


@pytest.fixture
def declared(monkeypatch: pytest.MonkeyPatch) -> list[spec.CheckSpec]:
    """A catalogue of its own, so the checks declared here do not join verify's."""
    checks: list[spec.CheckSpec] = []
    monkeypatch.setattr(spec, "DECLARED", checks)
    return checks


def test_a_result_carries_the_name_written_in_the_declaration(declared: list[spec.CheckSpec]) -> None:
    @spec.check("door locked", "service", prevents="1: the door was open")
    def door(view: Any, phase: Any) -> Verdict:
        """The door is locked
        and the key is in the drawer."""
        return fail("the door is open", "lock it", ["door-1"])

    [door_spec] = declared
    result = guarded(door_spec, view=None, phase=None)  # type: ignore[arg-type]

    assert (result.name, result.status, result.summary, result.fix, result.resources) == (
        "door locked",
        Status.FAIL,
        "the door is open",
        "lock it",
        ["door-1"],
    )
    assert door_spec.describes == "The door is locked and the key is in the drawer."


def test_a_check_that_cannot_ask_aws_fails_under_its_own_name(declared: list[spec.CheckSpec]) -> None:
    @spec.check("window shut", "network", prevents="a window left open")
    def window(view: Any, phase: Any) -> Verdict:
        """The window is shut."""
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeWindows")

    @spec.check("roof intact", "network", prevents="a leaking roof")
    def roof(view: Any, phase: Any) -> Verdict:
        """The roof is intact."""
        return ok("no leak")

    results = [guarded(s, view=None, phase=None) for s in declared]  # type: ignore[arg-type]

    assert [(r.name, r.status) for r in results] == [("window shut", Status.FAIL), ("roof intact", Status.PASS)]
    assert "could not be checked" in results[0].summary and "AccessDenied" in results[0].summary
