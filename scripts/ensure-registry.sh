#!/usr/bin/env bash
# Make sure a local OCI registry (the stand-in for Amazon ECR) answers on
# 127.0.0.1:PORT.
#
#   scripts/ensure-registry.sh [PORT]        (default 5000)
#
# Reuses whatever already answers http://127.0.0.1:PORT/v2/ with 200.
# Otherwise installs Debian's docker-registry (if missing), writes
# /var/lib/snailtrail-registry/config.yml (filesystem storage under
# /var/lib/snailtrail-registry/data), starts it detached (log:
# /var/log/snailtrail-registry-PORT.log, pidfile:
# /var/run/snailtrail-registry-PORT.pid) and waits for /v2/. Then checks that
# `docker push` of the base image to it works (Docker allows plain-HTTP
# registries on 127.0.0.0/8 without any daemon config).
# Prints only `127.0.0.1:PORT` on stdout.
set -euo pipefail
SCRIPT_NAME=ensure-registry
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

PORT=${1:-5000}
case "$PORT" in
  ''|*[!0-9]*) die "PORT must be a number, got '$PORT'" ;;
esac
if [ "$PORT" -lt 1 ] || [ "$PORT" -gt 65535 ]; then die "PORT out of range: $PORT"; fi
ADDR=127.0.0.1:$PORT
BASE_IMAGE=${SNAILTRAIL_BASE_IMAGE:-snailtrail/python:3.11-bookworm}
STATE_DIR=/var/lib/snailtrail-registry
if [ "$PORT" = 5000 ]; then CONFIG=$STATE_DIR/config.yml; else CONFIG=$STATE_DIR/config-$PORT.yml; fi
LOG_FILE=/var/log/snailtrail-registry-$PORT.log
PID_FILE=/var/run/snailtrail-registry-$PORT.pid
START_TIMEOUT=${SNAILTRAIL_REGISTRY_TIMEOUT:-30}

v2_status() {
  curl -s --noproxy '*' --max-time 3 -o /dev/null -w '%{http_code}' "http://$ADDR/v2/" 2>/dev/null || true
}
v2_ok() { [ "$(v2_status)" = 200 ]; }

# Push the base image to the registry and read it back from the catalogue API.
verify_push() {
  if ! docker info >/dev/null 2>&1; then
    log "Docker engine not reachable; running ensure-docker-engine.sh"
    "$HERE/ensure-docker-engine.sh" || die "no Docker engine, cannot verify pushes to $ADDR"
  fi
  if ! docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    log "base image $BASE_IMAGE missing; running ensure-base-image.sh"
    "$HERE/ensure-base-image.sh" "$BASE_IMAGE" >/dev/null || die "cannot build $BASE_IMAGE for the push check"
  fi
  local repo=${BASE_IMAGE%:*} tag=${BASE_IMAGE##*:} out t0
  local ref=$ADDR/$repo:$tag
  t0=$(now)
  docker tag "$BASE_IMAGE" "$ref"
  if ! out=$(docker push "$ref" 2>&1); then
    printf '%s\n' "$out" | tail -n 5 >&2
    docker rmi "$ref" >/dev/null 2>&1 || true
    die "docker push $ref failed (is $ADDR an insecure-allowed registry? 'docker info' lists Insecure Registries)"
  fi
  docker rmi "$ref" >/dev/null 2>&1 || true   # drop the extra tag only
  curl -fsS --noproxy '*' --max-time 5 "http://$ADDR/v2/$repo/tags/list" 2>/dev/null | grep -q "\"$tag\"" \
    || die "pushed $ref but the registry does not list tag $tag"
  log "verified: docker push $ref works ($(elapsed_since "$t0") s)"
}

status=$(v2_status)
if [ "$status" = 200 ]; then
  log "reusing registry already answering http://$ADDR/v2/"
  verify_push
  printf '%s\n' "$ADDR"
  exit 0
fi
if [ "$status" != 000 ]; then
  die "something else listens on $ADDR (GET /v2/ answered HTTP $status); pick another port"
fi

require_root
exec 9>"/var/lock/snailtrail-registry-$PORT.lock"
flock -w 120 9 || die "timed out waiting for /var/lock/snailtrail-registry-$PORT.lock"

if v2_ok; then
  log "reusing registry on $ADDR (started by a concurrent caller)"
elif pid_alive "$PID_FILE"; then
  log "registry (pid $(cat "$PID_FILE")) is running but not answering yet; waiting for it"
else
  if ! command -v docker-registry >/dev/null 2>&1; then
    log "docker-registry not found; installing Debian's docker-registry"
    t0=$(now)
    apt_ensure docker-registry
    log "docker-registry installed in $(elapsed_since "$t0") s"
  fi
  mkdir -p "$STATE_DIR/data" "$(dirname "$LOG_FILE")" "$(dirname "$PID_FILE")"
  cat >"$CONFIG.tmp" <<YAML
# Written by snailtrail scripts/ensure-registry.sh; local test registry only.
version: 0.1
log:
  level: info
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $STATE_DIR/data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $ADDR
  headers:
    X-Content-Type-Options: [nosniff]
health:
  storagedriver:
    enabled: true
    interval: 10s
    threshold: 3
YAML
  mv "$CONFIG.tmp" "$CONFIG"
  rm -f "$PID_FILE"
  log "starting docker-registry on $ADDR (config: $CONFIG, log: $LOG_FILE)"
  start_marker "$LOG_FILE" "$SCRIPT_NAME"
  # 9>&- : the daemon must not inherit (and so keep holding) our flock.
  setsid nohup docker-registry serve "$CONFIG" >>"$LOG_FILE" 2>&1 </dev/null 9>&- &
  echo $! >"$PID_FILE"
fi

t0=$(now)
if ! v2_ok; then
  if ! wait_for_daemon "$START_TIMEOUT" "registry on $ADDR" "$PID_FILE" v2_ok; then
    show_log_since_marker "$LOG_FILE" 20
    die "could not start the registry on $ADDR (full log: $LOG_FILE)"
  fi
  log "registry answered after $(elapsed_since "$t0") s (pid $(cat "$PID_FILE" 2>/dev/null || echo unknown))"
fi
verify_push
printf '%s\n' "$ADDR"
