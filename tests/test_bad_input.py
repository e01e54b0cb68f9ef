"""Generated bad input: whatever a manifest or configuration holds, snailtrail answers with exit 2,
the file and the field, no traceback, and no AWS call; or, for a valid document, proceeds."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from snailtrail.cli import run
from tests.conftest import FIXTURES, write_config

VALID = yaml.safe_load((FIXTURES / "phases" / "phase-1-simple.yaml").read_text())
KEYS = [
    "image",
    "container",
    "success",
    "description",
    "port",
    "environment",
    "secrets",
    "cpu",
    "memory",
    "health_check",
    "desired_count",
    "http",
    "path",
    "status",
    "json",
    "ml_mode",
    "dockerfile",
    "context",
    "build_args",
    "grace_period_s",
    "command",
    "attempts",
    "interval_s",
    "\u00e9t\u00e9",
    "PORT",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True),
    st.text(max_size=30),
    st.sampled_from(["/health", "8000", "\u2603"]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=12,
)


def mutated(document: dict, path: list[str], value: object) -> dict:
    """A copy of ``document`` with ``value`` at ``path``; a value on the way that is not a mapping
    is replaced by one, so that every path given changes the copy."""
    copy = yaml.safe_load(yaml.safe_dump(document))
    node = copy
    for key in path[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[path[-1]] = value
    return copy


@pytest.fixture
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("bad-input")
    write_config(root, "http://127.0.0.1:9")
    return root


def plan_exit(project: Path, capsys: pytest.CaptureFixture, calls: Counter[str]) -> tuple[int, str]:
    from moto import mock_aws

    capsys.readouterr()
    calls.clear()
    with mock_aws():  # a valid document goes on to ask AWS: never a real account
        code = run(["--config", str(project / "snailtrail.yaml"), "plan", "phase-1"])
    return code, capsys.readouterr().err


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.lists(st.sampled_from(KEYS), min_size=1, max_size=3), value=values)
def test_any_manifest_value_is_refused_cleanly_or_accepted(
    project: Path,
    aws_env: None,
    record_api_calls: Counter[str],
    capsys: pytest.CaptureFixture,
    path: list[str],
    value: object,
) -> None:
    document = mutated(VALID, path, value)
    assume(document != VALID)
    manifest = project / "phases" / "phase-1-simple.yaml"
    manifest.write_text(yaml.safe_dump(document, allow_unicode=True))
    code, err = plan_exit(project, capsys, record_api_calls)
    assert "Traceback" not in err
    assert code in (0, 2), err
    if code == 2:
        assert "phase-1-simple.yaml" in err and "fix:" in err
        assert not record_api_calls


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=200))
def test_any_short_text_as_configuration_exits_2_naming_the_file(
    project: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture, text: str
) -> None:
    # 200 characters cannot hold a whole configuration (service, environments): each is refused.
    config = project / "snailtrail.yaml"
    original = config.read_text()
    config.write_text(text)
    try:
        code, err = plan_exit(project, capsys, record_api_calls)
    finally:
        config.write_text(original)
    assert code == 2 and "snailtrail.yaml" in err and "Traceback" not in err
    assert not record_api_calls


@pytest.mark.parametrize(
    "name, text",
    [
        (
            "billion laughs",
            "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
            "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
            "image: [*d, *d, *d, *d, *d, *d, *d, *d, *d]\n",
        ),
        ("python object", "image: !!python/object/apply:os.system ['touch /tmp/snailtrail-pwned']\n"),
        ("huge number", "container: {port: 99999999999999999999999999999999}\n"),
        ("not utf-8", None),
    ],
)
def test_hostile_manifests_exit_2(
    project: Path,
    aws_env: None,
    record_api_calls: Counter[str],
    capsys: pytest.CaptureFixture,
    name: str,
    text: str | None,
) -> None:
    manifest = project / "phases" / "phase-1-simple.yaml"
    if text is None:
        manifest.write_bytes(b"image: \xff\xfe\n")
    else:
        manifest.write_text(text)
    code, err = plan_exit(project, capsys, record_api_calls)
    assert code == 2 and "phase-1-simple.yaml" in err and "Traceback" not in err
    assert not Path("/tmp/snailtrail-pwned").exists()
    assert not record_api_calls


def test_a_phases_directory_symlinked_elsewhere_or_missing(
    project: Path, aws_env: None, record_api_calls: Counter[str], capsys: pytest.CaptureFixture
) -> None:
    import shutil

    shutil.rmtree(project / "phases")
    code, err = plan_exit(project, capsys, record_api_calls)
    assert code == 2 and "phases directory not found" in err
    (project / "phases").symlink_to(project / "nowhere")
    code, err = plan_exit(project, capsys, record_api_calls)
    assert code == 2 and "Traceback" not in err
