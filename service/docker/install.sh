#!/bin/sh
# Build-time installer shared by every images/*/Dockerfile (run from /src).
#
#   sh docker/install.sh deps EXTRAS   EXTRAS: "" (simple), "ml", "ml,metrics"
#   sh docker/install.sh app
#
# "deps" makes /opt/venv with the base image's python3 (the local Debian base
# has no `pip` or `python` on PATH) and installs the project's dependencies
# (plus its build backend) at the versions locked in constraints.txt. It needs
# only pyproject.toml and constraints.txt, so Docker caches that layer across
# source edits. "app" then installs shine itself, offline, and prunes the venv
# for runtime: pip, setuptools and wheel are uninstalled (after `pip check`
# proved nothing needs them) and numpy's own test suites are deleted; the
# compiled __pycache__ stays (it saves every start from recompiling). The
# pruned venv must still pass `python -m shine.models verify` and import the
# server. Run "app" in a builder stage: the final stage copies only /opt/venv.
#
# An extra CA for pip during the build: the EXTRA_CA_CERT build arg (PEM
# text) and/or certs/*.pem|*.crt in the build context. It is used for this
# build only and removed afterwards.
set -eu
mode=${1:?usage: install.sh deps EXTRAS | app}
extras=${2:-}

if [ "$mode" = app ]; then
    /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation --disable-pip-version-check /src
    /opt/venv/bin/python -m shine.models verify
    # Runtime prune. The build tools go first, then pip checks that no
    # installed distribution depends on them, then pip removes itself.
    before=$(du -sk /opt/venv | cut -f1)
    /opt/venv/bin/pip uninstall --yes --disable-pip-version-check setuptools wheel
    /opt/venv/bin/pip check --disable-pip-version-check
    /opt/venv/bin/python -m pip uninstall --yes --disable-pip-version-check pip
    # numpy ships its whole test suite (~17 MB); nothing imports it at runtime.
    for pkg in /opt/venv/lib/python3*/site-packages/numpy; do
        if [ -d "$pkg" ]; then find "$pkg" -type d -name tests -prune -exec rm -rf {} +; fi
    done
    rm -rf /root/.cache
    echo "install.sh: pruned /opt/venv: $((before / 1024)) MB -> $(($(du -sk /opt/venv | cut -f1) / 1024)) MB"
    # The pruned venv still works: bundled models verify, the server imports.
    test ! -e /opt/venv/bin/pip
    /opt/venv/bin/python -m shine.models verify
    /opt/venv/bin/python - <<'PY'
import importlib, importlib.util
import shine.__main__, shine.app  # noqa: F401  (the server and the app import)
# The phase's optional stacks, when installed, still import after the prune.
for mod in ("numpy", "cv2", "PIL.Image", "boto3", "prometheus_client"):
    if importlib.util.find_spec(mod.split(".")[0]):
        importlib.import_module(mod)
PY
    exit 0
fi

python3 -m venv /opt/venv

bundle=""
if [ -n "${EXTRA_CA_CERT:-}" ] || ls /src/certs/*.pem /src/certs/*.crt >/dev/null 2>&1; then
    bundle=/tmp/shine-build-ca.pem
    # PIP_CERT replaces pip's own bundle, so keep the public roots in it.
    /opt/venv/bin/python -c 'import pip._vendor.certifi as c; print(open(c.where()).read())' > "$bundle"
    if [ -f /etc/ssl/certs/ca-certificates.crt ]; then cat /etc/ssl/certs/ca-certificates.crt >> "$bundle"; fi
    if [ -n "${EXTRA_CA_CERT:-}" ]; then printf '%s\n' "$EXTRA_CA_CERT" >> "$bundle"; fi
    for f in /src/certs/*.pem /src/certs/*.crt; do
        if [ -f "$f" ]; then cat "$f" >> "$bundle"; fi
    done
    export PIP_CERT="$bundle"
    echo "install.sh: pip trusts $(grep -c 'BEGIN CERTIFICATE' "$bundle") CA certificates (extras included)"
fi

# Requirements = build backend + dependencies + the chosen extras, read from
# pyproject.toml with the stdlib TOML parser.
EXTRAS="$extras" /opt/venv/bin/python - > /tmp/requirements.txt <<'PY'
import os, tomllib
doc = tomllib.load(open("/src/pyproject.toml", "rb"))
reqs = list(doc["build-system"]["requires"]) + ["wheel"] + list(doc["project"]["dependencies"])
for extra in filter(None, os.environ["EXTRAS"].split(",")):
    reqs += doc["project"]["optional-dependencies"][extra]
print("\n".join(reqs))
PY
/opt/venv/bin/pip install --no-cache-dir --disable-pip-version-check -c /src/constraints.txt -r /tmp/requirements.txt

rm -f /tmp/requirements.txt
if [ -n "$bundle" ]; then rm -f "$bundle"; fi
rm -rf /root/.cache
