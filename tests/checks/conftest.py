"""A LiveView over in-process moto, and a running revision to check."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from snailtrail.checks.view import LiveView
from snailtrail.config.settings import load_settings
from snailtrail.context import Context
from snailtrail.ui import Reporter
from tests.conftest import write_config


@pytest.fixture
def view(aws_env: None, tmp_path: Path) -> Iterator[LiveView]:
    from moto import mock_aws

    with mock_aws():
        settings = load_settings(str(write_config(tmp_path, "https://shine.example.com")))
        yield LiveView(Context(settings, Reporter(quiet=True)))


def running(view: LiveView, monkeypatch: pytest.MonkeyPatch, container: dict[str, Any]) -> None:
    """The service's running revision has this container definition."""
    revision = SimpleNamespace(definition={"containerDefinitions": [{"name": "app", **container}]})
    monkeypatch.setattr(view, "running_revision", lambda: revision)
