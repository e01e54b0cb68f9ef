#!/usr/bin/env bash
# Bring up everything the sandbox tests need, reusing what already runs:
#   1. a Docker engine            (scripts/ensure-docker-engine.sh)
#   2. the Python base image      (scripts/ensure-base-image.sh)
#   3. a local OCI registry       (scripts/ensure-registry.sh)
#
#   scripts/ensure-test-infra.sh
#
# Env: SNAILTRAIL_BASE_IMAGE (default snailtrail/python:3.11-bookworm),
#      SNAILTRAIL_REGISTRY_PORT (default 5000).
# Prints one summary line on stdout; exits non-zero if any step fails.
# Called by CI and `make test`.
set -euo pipefail
SCRIPT_NAME=ensure-test-infra
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

BASE_IMAGE=${SNAILTRAIL_BASE_IMAGE:-snailtrail/python:3.11-bookworm}
PORT=${SNAILTRAIL_REGISTRY_PORT:-5000}
export SNAILTRAIL_BASE_IMAGE=$BASE_IMAGE

step() {  # step NAME CMD... : run, time, and fail loudly.
  local name=$1 t0 rc=0; shift
  t0=$(now)
  "$@" || rc=$?
  if [ "$rc" -ne 0 ]; then
    log "FAILED: $name (exit $rc after $(elapsed_since "$t0") s)"
    exit "$rc"
  fi
  TIMES+=("$name $(elapsed_since "$t0")s")
}

TIMES=()
T0=$(now)
step engine "$HERE/ensure-docker-engine.sh"
image="" registry=""
get_image() { image=$("$HERE/ensure-base-image.sh" "$BASE_IMAGE"); }
get_registry() { registry=$("$HERE/ensure-registry.sh" "$PORT"); }
step image get_image
step registry get_registry

engine=$(docker version --format 'engine {{.Server.Version}} (API {{.Server.APIVersion}})' 2>/dev/null || echo 'engine ?')
printf 'test infra ready: %s; base image %s; registry %s [%s; total %ss]\n' \
  "$engine" "$image" "$registry" "${TIMES[*]}" "$(elapsed_since "$T0")"
