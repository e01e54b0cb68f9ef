#!/usr/bin/env bash
# Make sure a Docker engine answers on this machine, starting one if needed.
#
#   scripts/ensure-docker-engine.sh
#
# Reuses a running engine. Otherwise installs Debian's docker.io (if dockerd is
# missing), starts dockerd fully detached (log: /var/log/snailtrail-dockerd.log,
# pidfile: /var/run/snailtrail-dockerd.pid) and waits for `docker info`.
# Idempotent; exits non-zero with a message when the engine cannot be had.
#
# Client/engine versions: the docker CLI in /usr/local/bin (28.x, API 1.50) is
# newer than Debian's engine (20.10, API 1.41). The CLI negotiates the API
# version down by itself, so no DOCKER_API_VERSION is needed; this script still
# verifies `docker version`; should it fail (e.g. DOCKER_API_VERSION=1.50 set
# by hand: "client version 1.50 is too new. Maximum supported API version is
# 1.41"), it exits non-zero naming the fix: the DOCKER_API_VERSION to export,
# or Debian's matching client /usr/bin/docker.
set -euo pipefail
SCRIPT_NAME=ensure-docker-engine
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"

LOG_FILE=${SNAILTRAIL_DOCKERD_LOG:-/var/log/snailtrail-dockerd.log}
PID_FILE=${SNAILTRAIL_DOCKERD_PIDFILE:-/var/run/snailtrail-dockerd.pid}
START_TIMEOUT=${SNAILTRAIL_DOCKERD_TIMEOUT:-60}
SOCK=/var/run/docker.sock

# Does the engine answer on its socket at all (independent of client version)?
engine_pings() {
  if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$SOCK" ]; then
    docker info >/dev/null 2>&1
  else
    [ -S "$SOCK" ] && curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/_ping >/dev/null 2>&1
  fi
}

# Check that the docker client on PATH can talk to the engine; fix it if not.
check_client() {
  local out
  if out=$(docker version --format '{{.Client.Version}} (API {{.Client.APIVersion}}) -> engine {{.Server.Version}} (API {{.Server.APIVersion}})' 2>&1); then
    log "client $(command -v docker) $out: version negotiation OK"
    docker info >/dev/null 2>&1 || die "'docker info' fails although 'docker version' works: $(docker info 2>&1 | tail -3)"
    return 0
  fi
  log "WARNING: '$(command -v docker) version' failed: $out"
  local api
  api=$(curl -fsS --max-time 3 --unix-socket "$SOCK" http://localhost/version 2>/dev/null \
        | sed -n 's/.*"ApiVersion":"\([0-9.]*\)".*/\1/p')
  # This script cannot change its caller's environment, so it fails with the fix.
  if [ -n "$api" ] && DOCKER_API_VERSION=$api docker version >/dev/null 2>&1; then
    die "the engine runs, but the client needs the API pinned: export DOCKER_API_VERSION=$api${DOCKER_API_VERSION:+ (now DOCKER_API_VERSION=$DOCKER_API_VERSION; or unset it to let the client negotiate)}"
  fi
  if [ -x /usr/bin/docker ] && /usr/bin/docker version >/dev/null 2>&1; then
    die "the engine runs, but only Debian's client /usr/bin/docker can talk to it: put /usr/bin before $(dirname "$(command -v docker)") in PATH"
  fi
  die "no docker client can talk to the engine (engine API ${api:-unknown})"
}

if engine_pings; then
  log "reusing running engine"
  check_client
  exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "$DOCKER_HOST" != "unix://$SOCK" ]; then
  die "DOCKER_HOST=$DOCKER_HOST does not answer; not starting a local engine for a remote DOCKER_HOST"
fi

require_root
command -v curl >/dev/null || apt_ensure curl

# Serialise concurrent callers (parallel test runs, other engineers' shells).
exec 9>/var/lock/snailtrail-dockerd.lock
flock -w 300 9 || die "timed out waiting for /var/lock/snailtrail-dockerd.lock"
if engine_pings; then
  log "reusing running engine (started by a concurrent caller)"
  check_client
  exit 0
fi

if ! command -v dockerd >/dev/null 2>&1; then
  log "dockerd not found; installing Debian's docker.io"
  t0=$(now)
  apt_ensure docker.io
  log "docker.io installed in $(elapsed_since "$t0") s"
  command -v dockerd >/dev/null 2>&1 || die "docker.io installed but dockerd is still not on PATH"
fi

if pid_alive "$PID_FILE"; then
  log "dockerd (pid $(cat "$PID_FILE")) is already running but not answering yet; waiting for it"
else
  # A dead dockerd may leave its pidfile / socket behind; dockerd refuses to
  # start over a live pidfile but handles stale ones itself. Clear our own.
  rm -f "$PID_FILE"
  log "starting dockerd in the background (log: $LOG_FILE)"
  mkdir -p "$(dirname "$LOG_FILE")" "$(dirname "$PID_FILE")"
  start_marker "$LOG_FILE" "$SCRIPT_NAME"
  # setsid + nohup + closed stdin: the daemon leaves our session and process
  # group, so it outlives this script and its caller's terminal.
  # 9>&- : the daemon must not inherit (and so keep holding) our flock.
  setsid nohup dockerd >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
fi

t0=$(now)
if ! wait_for_daemon "$START_TIMEOUT" "engine" "$PID_FILE" engine_pings; then
  show_log_since_marker "$LOG_FILE" 30
  die "could not start the Docker engine (full log: $LOG_FILE)"
fi
log "engine started in $(elapsed_since "$t0") s (pid $(cat "$PID_FILE"))"
check_client
