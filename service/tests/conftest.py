"""Shared fixtures: apps per phase with models from the bundled artifacts."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from shine_testutil import encode, settings_for

from shine.app import create_app

# The repository's CI plugin (tests/ci_plugin.py: under CI=true an engine problem fails, never skips), also
# when this suite runs on its own from service/.
REPOSITORY = Path(__file__).resolve().parents[2]
if str(REPOSITORY) not in sys.path:
    sys.path.insert(0, str(REPOSITORY))
pytest_plugins = ["tests.ci_plugin"]


def pytest_configure(config: pytest.Config) -> None:
    # Registered here as well as in pyproject so running from the repo root
    # (another rootdir and config) knows the marker too.
    config.addinivalue_line("markers", "docker: builds and runs the phase images (needs a Docker engine)")


@pytest.fixture
def make_app(tmp_path: Path) -> Callable:
    def _make(wait: bool = True, **env: str):
        app = create_app(settings_for(tmp_path, **env))
        runtime = app.extensions["shine"]["runtime"]
        if wait and runtime is not None:
            assert runtime.wait(30), "ML runtime did not settle"
        return app

    return _make


@pytest.fixture
def make_client(make_app: Callable) -> Callable:
    return lambda **env: make_app(**env).test_client()


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    from skimage import data

    return data.astronaut()


@pytest.fixture(scope="session")
def astronaut_jpeg(astronaut: np.ndarray) -> bytes:
    return encode(astronaut, "JPEG", quality=90)
