#!/usr/bin/env bash
# Create (or reuse) the project's virtual environment in .venv with snailtrail (and its sandbox extra)
# and the shine service installed in editable mode with their test extras. Installs python3-venv when the
# machine's Python cannot make a venv (a fresh Debian). Prints the venv's python on stdout.
set -euo pipefail
SCRIPT_NAME=ensure-venv
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${SNAILTRAIL_VENV:-$ROOT/.venv}

python=$(command -v python3 || true)
if [ -z "$python" ]; then
  apt_ensure python3 python3-venv
  python=$(command -v python3)
fi
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))' \
  || die "$("$python" --version) is too old: snailtrail needs Python 3.11 or newer"

if [ ! -x "$VENV/bin/python" ]; then
  # A user's own virtual environment may come first on PATH: build on its base interpreter, so that
  # this one keeps working when that one is removed.
  python=$("$python" -c 'import sys; print(getattr(sys, "_base_executable", "") or sys.executable)')
  log "creating $VENV with $("$python" --version) ($python)"
  if ! "$python" -m venv "$VENV" 2>/dev/null; then
    rm -rf "$VENV"
    apt_ensure python3-venv
    "$python" -m venv "$VENV"
  fi
fi

# Reinstall only when the project's requirements changed since the last install.
stamp="$VENV/.snailtrail-installed"
digest=$(cat "$ROOT/pyproject.toml" "$ROOT/service/pyproject.toml" 2>/dev/null | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$digest" ]; then
  t0=$(now)
  log "installing snailtrail (editable, with the sandbox and test extras) and the shine service"
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "${ROOT}[sandbox,dev]" -e "${ROOT}/service[dev]"
  echo "$digest" > "$stamp"
  log "installed in $(elapsed_since "$t0") s"
else
  log "reusing $VENV (requirements unchanged)"
fi
echo "$VENV/bin/python"
