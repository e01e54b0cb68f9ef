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
# source edits. "app" then installs shine itself, offline.
#
# An extra CA for pip during the build: the EXTRA_CA_CERT build arg (PEM
# text) and/or certs/*.pem|*.crt in the build context. It is used for this
# build only and removed afterwards.
set -eu
mode=${1:?usage: install.sh deps EXTRAS | app}
extras=${2:-}

if [ "$mode" = app ]; then
    /opt/venv/bin/pip install --no-cache-dir --no-deps --no-build-isolation /src
    /opt/venv/bin/python -m shine.models verify
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
