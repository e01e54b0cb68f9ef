#!/usr/bin/env bash
# The README's first command: set everything up on this machine and run the sandbox demo.
#   ./scripts/demo.sh
# Installs what is missing (virtual environment; Docker engine via Debian's docker.io; a local
# Python base image; a local OCI registry), starts the sandbox, deploys phase-1 to phase-4, shows a
# broken build (the app ignores $PORT) caught by smoke and, deployed anyway, caught and rolled
# back, then prints status and the trail. Safe to run again: everything is reused.
set -euo pipefail
SCRIPT_NAME=demo.sh
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
T0=$(now)

python=$(scripts/ensure-venv.sh)
snailtrail="$(dirname "$python")/snailtrail"
scripts/ensure-test-infra.sh >&2
export SNAILTRAIL_BASE_IMAGE=${SNAILTRAIL_BASE_IMAGE:-snailtrail/python:3.11-bookworm}
export_extra_ca "$ROOT"

banner() { printf '\n\033[1m== %s\033[0m\n' "$*" >&2; }

banner "sandbox up"
"$snailtrail" sandbox up

for phase in phase-1 phase-2 phase-3 phase-4; do
  banner "deploy $phase"
  "$snailtrail" deploy "$phase"
done

banner "a broken build: the app listens on 8080 and ignores PORT=8000 (drill image)"
if "$snailtrail" smoke full --build-arg SHINE_DRILL_WRONG_PORT=8080 --timeout 30; then
  die "smoke should have caught the broken build"
fi
log "smoke caught it before anything changed; now deploying it anyway (--skip-smoke) to show the rollback"
set +e
"$snailtrail" deploy full --build-arg SHINE_DRILL_WRONG_PORT=8080 --skip-smoke
code=$?
set -e
[ "$code" -eq 1 ] || die "expected exit 1 (failed and rolled back to a verified deployment), got $code"

banner "canary: phase-4 on the green colour, verified before traffic, then 10 %, 50 %, 100 % under the gates"
# Users, so the gates have live traffic to compare: one request after another through the front door.
front_door=$("$snailtrail" sandbox status --json | "$python" -c 'import json, sys; print(json.load(sys.stdin)["front_door_url"])')
"$python" -c '
import sys, time, urllib.request
while True:
    try:
        urllib.request.urlopen(sys.argv[1] + "/ready", timeout=5).read()
    except OSError:
        time.sleep(0.1)
' "$front_door" &
users=$!
trap 'kill $users 2>/dev/null || true' EXIT
"$snailtrail" deploy phase-4 --strategy canary --no-build
kill $users

banner "status"
"$snailtrail" status
banner "trail"
"$snailtrail" trail
log "demo finished in $(elapsed_since "$T0") s; the sandbox keeps running (stop it: $snailtrail sandbox down)"
