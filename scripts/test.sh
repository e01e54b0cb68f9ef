#!/usr/bin/env bash
# The README's test command: set up everything the tests need, then run them all.
#   ./scripts/test.sh [PYTEST ARGS...]
# Without a Docker engine the tests that need one skip, saying why; under CI (CI=true) a missing
# engine, base image or registry is an error instead, so CI always runs the container tests.
set -euo pipefail
SCRIPT_NAME="test.sh"
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

python=$(scripts/ensure-venv.sh)
# pytest runs on every core (pyproject.toml). The container tests share one Docker engine, the registry and
# the sandbox's fixed ports, so where they can run, everything runs in one process, one test at a time.
workers=()
if summary=$(scripts/ensure-test-infra.sh); then
  log "$summary"
  workers=(-n 0)
elif [ "${CI:-}" = "true" ]; then
  die "CI needs the Docker engine, base image and registry; see the messages above"
else
  log "no Docker test infrastructure: container tests will be skipped (run scripts/ensure-test-infra.sh to see why)"
fi
export SNAILTRAIL_BASE_IMAGE=${SNAILTRAIL_BASE_IMAGE:-snailtrail/python:3.11-bookworm}
export_extra_ca "$ROOT"
rc=0
"$python" -m pytest tests service/tests "${workers[@]}" "$@" || rc=$?
# pytest's 5 is "no tests collected": arguments that select nothing test nothing, which is no pass.
[ "$rc" -ne 5 ] || die "pytest collected no tests (exit 5): check the arguments $*"
exit "$rc"
