# shellcheck shell=bash
# Shared helpers for the scripts/ensure-*.sh test-infrastructure scripts.
# Source it after `set -euo pipefail`; it expects SCRIPT_NAME to be set
# (defaults to the calling script's basename).

: "${SCRIPT_NAME:=$(basename "${BASH_SOURCE[1]:-$0}")}"

log() { printf '%s: %s\n' "$SCRIPT_NAME" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$SCRIPT_NAME" "$*" >&2; exit 1; }

# Seconds since the epoch with sub-second precision, for timing messages.
now() { date +%s.%N; }
elapsed_since() { awk -v s="$1" -v e="$(now)" 'BEGIN { printf "%.1f", e - s }'; }

require_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (needs apt-get / dockerd); re-run with sudo"
}

# True when the Debian package is installed (not merely known).
pkg_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = "installed" ]
}

# True when apt knows an installation candidate for the package.
pkg_has_candidate() {
  local cand
  cand=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2; exit }')
  [ -n "$cand" ] && [ "$cand" != "(none)" ]
}

# apt_ensure PKG... : install the missing packages. Runs `apt-get update` only
# when some package has no candidate in the current lists (or the first install
# attempt fails, e.g. because the lists are stale). Never starts services:
# a temporary policy-rc.d stops maintainer scripts from launching daemons.
apt_ensure() {
  local missing=() p
  for p in "$@"; do pkg_installed "$p" || missing+=("$p"); done
  [ "${#missing[@]}" -eq 0 ] && return 0
  require_root
  local need_update=0
  for p in "${missing[@]}"; do pkg_has_candidate "$p" || need_update=1; done
  if [ "$need_update" -eq 1 ]; then
    _apt_update
  else
    log "apt lists already know ${missing[*]}; skipping apt-get update"
  fi
  log "installing Debian package(s): ${missing[*]}"
  if ! _apt_install "${missing[@]}"; then
    if [ "$need_update" -eq 0 ]; then
      log "install failed with the current apt lists; running apt-get update and retrying"
      _apt_update
      _apt_install "${missing[@]}" || die "apt-get install ${missing[*]} failed"
    else
      die "apt-get install ${missing[*]} failed"
    fi
  fi
}

_apt_update() {
  log "running apt-get update"
  # Some configured third-party repositories are unreachable from this network;
  # apt-get update then warns or fails for them while the Debian lists update
  # fine, so a non-zero exit here is only a warning. The install decides.
  if ! apt-get -o DPkg::Lock::Timeout=300 -o Acquire::Retries=2 update -q >&2; then
    log "WARNING: apt-get update reported errors (unreachable extra repositories?); continuing"
  fi
}

_apt_install() {
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\n# temporary, written by snailtrail scripts/lib/common.sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    created=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -q \
    --no-install-recommends "$@" >&2 || rc=$?
  [ "$created" -eq 1 ] && rm -f "$policy"
  return "$rc"
}

# pid_alive PIDFILE : true when the pidfile names a running process.
pid_alive() {
  local pid
  [ -s "$1" ] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

# wait_for_daemon TIMEOUT DESCRIPTION PIDFILE CMD... : poll CMD every 0.5 s
# until it succeeds; give up early when the daemon in PIDFILE has exited.
wait_for_daemon() {
  local timeout=$1 what=$2 pidfile=$3; shift 3
  local deadline=$(( $(date +%s) + timeout ))
  until "$@" >/dev/null 2>&1; do
    if ! pid_alive "$pidfile"; then
      "$@" >/dev/null 2>&1 && break   # it may have answered just before exiting
      log "$what: process $(cat "$pidfile" 2>/dev/null || echo '?') has exited"
      return 1
    fi
    if [ "$(date +%s)" -ge "$deadline" ]; then
      log "$what: no answer within ${timeout} s"
      return 1
    fi
    sleep 0.5
  done
  log "$what is ready"
}

# start_marker FILE WHO : append a marker line that show_log_since_marker finds.
start_marker() {
  printf '\n===== %s: started by %s =====\n' "$(date -Is)" "$2" >>"$1"
}

# show_log_since_marker FILE [N] : the last N (30) lines written since the
# most recent start_marker, on stderr.
show_log_since_marker() {
  local file=$1 n=${2:-30}
  [ -r "$file" ] || { log "(no log file $file)"; return 0; }
  log "last lines of $file since this start:"
  awk '/^===== .*: started by / { buf = ""; next } { buf = buf $0 "\n" } END { printf "%s", buf }' "$file" \
    | tail -n "$n" >&2
}

# export_extra_ca ROOT: CAs this machine added locally (a TLS-intercepting proxy's, a corporate
# one) must be trusted by pip inside image builds; snailtrail passes $SNAILTRAIL_EXTRA_CA_CERT on.
export_extra_ca() {
  local root=$1
  if [ -z "${SNAILTRAIL_EXTRA_CA_CERT:-}" ] && compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/.snailtrail"
    cat /usr/local/share/ca-certificates/*.crt > "$root/.snailtrail/extra-ca.pem"
    export SNAILTRAIL_EXTRA_CA_CERT=$root/.snailtrail/extra-ca.pem
  fi
}
