"""The judge of a native service deployment (snailtrail/native_deploy.py)."""

from __future__ import annotations

from typing import Any

from tests.conftest import Sandbox

GOOD_1 = "fake.local/shine:phase-1-good"
GOOD_2 = "fake.local/shine:phase-1-good-2"
BROKEN = "fake.local/shine:phase-1-errors"


def use_strategy(sandbox: Sandbox, strategy: dict[str, Any]) -> None:
    sandbox.edit_phase("phase-1", lambda doc: doc.update(strategy=strategy))
