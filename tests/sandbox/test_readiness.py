"""`sandbox up` refuses a sandbox that cannot serve the phases, naming each failed part and its fix."""

from __future__ import annotations

from snailtrail.sandbox.readiness import PARTS, Readiness, unready

READY = {part: Readiness(True, f"{part} fine").as_dict() for part in PARTS}


def test_a_sandbox_whose_parts_are_all_ready_is_accepted() -> None:
    assert unready(READY) is None


def test_a_failed_seed_is_a_configuration_error_with_its_cause_and_fix() -> None:
    readiness = READY | {
        "seed": Readiness(False, "seed command `python -m shine.models` exited 1", "install it").as_dict()
    }
    error = unready(readiness)
    assert error is not None and error.exit_code == 2
    assert "seed: seed command `python -m shine.models` exited 1" in error.message
    assert "engine" not in error.message
    assert error.fix is not None and error.fix.startswith("install it; ")


def test_a_part_the_daemon_did_not_report_counts_as_failed() -> None:
    readiness = {part: entry for part, entry in READY.items() if part != "task_aws_api"}
    error = unready(readiness)
    assert error is not None and "task_aws_api: not reported by the sandbox daemon" in error.message


def test_a_fix_shared_by_two_parts_is_said_once() -> None:
    failed = Readiness(False, "no image", "make the base image").as_dict()
    error = unready(READY | {"engine": failed, "task_aws_api": failed})
    assert error is not None and error.fix is not None and error.fix.count("make the base image") == 1
