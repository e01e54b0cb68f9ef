"""Each phase image builds from a local base and answers /health on PORT=8000.

Needs a Docker engine and the base image (env SNAILTRAIL_BASE_IMAGE, default
snailtrail/python:3.11-bookworm); skipped with the reason otherwise. The
builds use the host network (pip reaches PyPI) and pass the host's extra CA
certificates as the EXTRA_CA_CERT build arg.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from tests.ci_plugin import skip_without_engine

pytestmark = pytest.mark.docker

SERVICE_DIR = Path(__file__).resolve().parent.parent
IMAGES_DIR = SERVICE_DIR.parent / "images"
BASE_IMAGE = os.environ.get("SNAILTRAIL_BASE_IMAGE", "snailtrail/python:3.11-bookworm")
PHASES = ["simple", "hybrid", "enhanced", "full"]
TEST_PORT = 8000  # not the default 5000: proves $PORT is honoured


def _docker_client():
    try:
        import docker

        client = docker.from_env()
        client.ping()
    except Exception as exc:
        skip_without_engine(f"no Docker engine reachable ({type(exc).__name__}: {exc})")
    try:
        client.images.get(BASE_IMAGE)
    except Exception:
        skip_without_engine(f"base image {BASE_IMAGE} not present locally (scripts/ensure-base-image.sh builds it)")
    return client


def extra_ca() -> str:
    """Extra CAs for pip inside the build: $SNAILTRAIL_EXTRA_CA_FILE or the host's local ones."""
    path = os.environ.get("SNAILTRAIL_EXTRA_CA_FILE")
    files = [path] if path else sorted(glob.glob("/usr/local/share/ca-certificates/*.crt"))
    return "".join(Path(f).read_text() for f in files)


def build(phase: str, tag: str, **build_args: str) -> None:
    cmd = [
        "docker",
        "build",
        "--network",
        "host",
        "-f",
        str(IMAGES_DIR / phase / "Dockerfile"),
        "--build-arg",
        f"BASE_IMAGE={BASE_IMAGE}",
        "-t",
        tag,
    ]
    for key, value in {"EXTRA_CA_CERT": extra_ca(), **build_args}.items():
        cmd += ["--build-arg", f"{key}={value}"]
    proc = subprocess.run([*cmd, str(SERVICE_DIR)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.fixture(scope="module")
def images():
    client = _docker_client()
    built: dict[str, str] = {}

    def _get(phase: str) -> str:
        if phase not in built:
            build(phase, f"shine-test:{phase}")
            built[phase] = f"shine-test:{phase}"
        return built[phase]

    _get.client = client
    return _get


def get_json(port: int, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def wait_json(port: int, path: str, deadline: float = 30) -> tuple[int, dict]:
    t0 = time.monotonic()
    last: Exception | None = None
    while time.monotonic() - t0 < deadline:
        try:
            return get_json(port, path)
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            last = exc
            time.sleep(0.2)
    raise AssertionError(f"{path} did not answer on {port} within {deadline}s: {last}")


def wait_ready(port: int, deadline: float = 30) -> None:
    """Until /ready says 200. While the models load in the background a request may wait for a busy worker on
    a loaded machine: a slow answer is "not ready yet", never a failure; not ready by the deadline is."""
    t0 = time.monotonic()
    answered: object = None
    while time.monotonic() - t0 < deadline:
        try:
            answered = get_json(port, "/ready")
        except (urllib.error.URLError, ConnectionError, OSError) as exc:
            answered = exc
        else:
            if answered[0] == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"/ready on {port} did not say 200 within {deadline}s: {answered}")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run(client, image: str, env: dict[str, str], host_port: int):
    return client.containers.run(
        image,
        detach=True,
        environment={"PORT": str(TEST_PORT), **env},
        ports={f"{TEST_PORT}/tcp": ("127.0.0.1", host_port)},
    )


@pytest.mark.parametrize("phase", PHASES)
def test_image_answers_health_on_port_8000(images, phase):
    image = images(phase)
    port = free_port()
    container = run(images.client, image, {}, port)
    try:
        status, body = wait_json(port, "/health")
        assert status == 200 and body["status"] == "ok" and body["phase"] == phase
        if phase != "simple":
            wait_ready(port)
            status, ml = get_json(port, "/ml/status")
            # No model bucket configured: degraded to basic, and it says why.
            assert status == 200 and ml["mode"] == "basic" and ml["degraded"] is True
            assert any("no bucket configured" in r for r in ml["reasons"])
            assert ml["components"]["opencv"]["available"] is True
    finally:
        container.remove(force=True)


def test_full_image_non_root_healthcheck_no_compilers(images):
    image = images("full")
    attrs = images.client.images.get(image).attrs["Config"]
    assert attrs["User"] == "shine"
    assert "CMD" in attrs["Healthcheck"]["Test"]
    out = images.client.containers.run(
        image, ["sh", "-c", "id -u; command -v gcc cc g++ make || echo no-compilers"], remove=True
    ).decode()
    assert out.split()[0] != "0" and "no-compilers" in out


def test_full_image_with_bundled_models_is_enhanced(images):
    port = free_port()
    container = run(images.client, images("full"), {"SHINE_MODEL_SOURCES": "bundled"}, port)
    try:
        wait_json(port, "/health")
        wait_ready(port)
        assert get_json(port, "/ml/status")[1]["mode"] == "enhanced"
    finally:
        container.remove(force=True)


def test_simple_is_at_most_a_third_of_full(images):
    sizes = {p: images.client.images.get(images(p)).attrs["Size"] for p in ("simple", "full")}
    ratio = sizes["simple"] / sizes["full"]
    print(f"image sizes: simple {sizes['simple'] / 1e6:.0f} MB, full {sizes['full'] / 1e6:.0f} MB, ratio {ratio:.2f}")
    # Issue 3's target, reported in docs/service.md. It needs the slim base
    # (label snailtrail.base.revision=2): the older fat base alone gives ~0.39.
    assert ratio <= 1 / 3, (
        f"simple is {ratio:.2f} of full (target <= 1/3); is {BASE_IMAGE} the slim base? "
        "scripts/ensure-base-image.sh rebuilds an outdated one"
    )


def test_drill_image_ignores_port(images):
    tag = "shine-test:simple-drill"
    build("simple", tag, SHINE_DRILL_WRONG_PORT="8080")
    port, wrong = free_port(), free_port()
    container = images.client.containers.run(
        tag,
        detach=True,
        environment={"PORT": str(TEST_PORT)},
        ports={f"{TEST_PORT}/tcp": ("127.0.0.1", port), "8080/tcp": ("127.0.0.1", wrong)},
    )
    try:
        # Up and answering on the drill's port first, so that silence on PORT is the drill's doing.
        assert wait_json(wrong, "/health")[0] == 200
        with pytest.raises((urllib.error.URLError, ConnectionError, OSError)):
            get_json(port, "/health")
        assert "DRILL" in container.logs().decode()
    finally:
        container.remove(force=True)
