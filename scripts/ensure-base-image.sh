#!/usr/bin/env bash
# Make sure the local Python base image exists (Docker Hub is unreachable here,
# so `FROM python:3.11-slim` cannot be pulled; we build an equivalent).
#
#   scripts/ensure-base-image.sh [NAME:TAG]     (default snailtrail/python:3.11-bookworm)
#
# Reuses the image when it exists. Otherwise debootstraps a minbase Debian
# bookworm (python3 3.11, python3-venv, ca-certificates) from the Debian mirror
# this machine's apt uses, imports it with `docker import` and checks that a
# venv with pip can be made inside it. Prints only the image name on stdout.
#
# Env: SNAILTRAIL_VERIFY_IMAGE=1 also runs the full venv+pip check on reuse.
#      SNAILTRAIL_DEBIAN_MIRROR overrides the mirror found in /etc/apt/sources*.
set -euo pipefail
SCRIPT_NAME=ensure-base-image
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

IMAGE=${1:-snailtrail/python:3.11-bookworm}
SUITE=bookworm
INCLUDE=python3,python3-venv,ca-certificates

case "$IMAGE" in
  *:*) ;;
  *) die "image name must be NAME:TAG, got '$IMAGE'" ;;
esac

# Engine first (cheap when it already runs).
if ! docker info >/dev/null 2>&1; then
  log "Docker engine not reachable; running ensure-docker-engine.sh"
  "$HERE/ensure-docker-engine.sh" || die "no Docker engine, cannot build $IMAGE"
fi

verify_image() {
  local out
  if out=$(docker run --rm --network none "$IMAGE" \
        sh -c 'python3 -m venv /tmp/v && /tmp/v/bin/pip --version && python3 --version' 2>&1); then
    log "verified: venv + pip work in $IMAGE ($(printf '%s' "$out" | tr '\n' ' '))"
  else
    printf '%s\n' "$out" >&2
    die "image $IMAGE exists but 'python3 -m venv /tmp/v && /tmp/v/bin/pip --version' fails in it"
  fi
}

# Cheap check for a reused image (the full venv+pip check takes ~4 s).
quick_check() {
  docker run --rm --network none "$IMAGE" python3 -c 'import ensurepip, venv, ssl' >/dev/null 2>&1 \
    || die "image $IMAGE exists but lacks python3/venv/ensurepip; remove it (docker rmi $IMAGE) and re-run"
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "reusing existing image $IMAGE"
  if [ "${SNAILTRAIL_VERIFY_IMAGE:-0}" = 1 ]; then verify_image; else quick_check; fi
  printf '%s\n' "$IMAGE"
  exit 0
fi

require_root
exec 9>/var/lock/snailtrail-base-image.lock
flock -w 900 9 || die "timed out waiting for /var/lock/snailtrail-base-image.lock"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  log "reusing image $IMAGE (built by a concurrent caller)"
  verify_image
  printf '%s\n' "$IMAGE"
  exit 0
fi

# The Debian mirror apt uses here: only the package registries configured for
# apt are reachable, so debootstrap must use the same one. Handles both the
# one-line (.list) and deb822 (.sources) formats; skips -security/-updates repos.
find_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -r "$f" ] || continue
    case "$f" in
      *.sources)
        awk -v suite="$SUITE" '
          function flush() {
            if (uris != "" && (" " suites " ") ~ (" " suite " ")) { split(uris, u, " "); print u[1]; found = 1; exit }
            uris = ""; suites = ""
          }
          /^[[:space:]]*$/ { flush(); next }
          /^[[:space:]]*#/ { next }
          tolower($1) == "uris:"   { $1 = ""; uris = $0 }
          tolower($1) == "suites:" { $1 = ""; suites = $0 }
          END { if (!found) flush() }' "$f" ;;
      *)
        awk -v suite="$SUITE" '
          $1 == "deb" {
            i = 2; if ($i ~ /^\[/) { while ($i !~ /\]$/) i++; i++ }
            if ($(i + 1) == suite) { print $i; exit }
          }' "$f" ;;
    esac
  done | sed -n '1{s:/*$::;p}'
}

MIRROR=${SNAILTRAIL_DEBIAN_MIRROR:-$(find_mirror)}
[ -n "$MIRROR" ] || die "no apt source for Debian '$SUITE' found in /etc/apt/sources.list*; set SNAILTRAIL_DEBIAN_MIRROR"
log "building $IMAGE: debootstrap --variant=minbase $SUITE from $MIRROR (about a minute)"

command -v debootstrap >/dev/null 2>&1 || { log "debootstrap not found; installing it"; apt_ensure debootstrap; }
[ -r /usr/share/keyrings/debian-archive-keyring.gpg ] || apt_ensure debian-archive-keyring

WORK=$(mktemp -d /var/tmp/snailtrail-rootfs.XXXXXX)
cleanup() { rm -rf --one-file-system "$WORK"; }
trap cleanup EXIT
ROOT=$WORK/root

t0=$(now)
if ! debootstrap --variant=minbase --include="$INCLUDE" \
      --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
      "$SUITE" "$ROOT" "$MIRROR" >"$WORK/debootstrap.log" 2>&1; then
  log "debootstrap failed; last lines of its log:"
  tail -n 25 "$WORK/debootstrap.log" >&2
  [ -f "$ROOT/debootstrap/debootstrap.log" ] && tail -n 15 "$ROOT/debootstrap/debootstrap.log" >&2
  die "debootstrap of $SUITE from $MIRROR failed"
fi
log "debootstrap done in $(elapsed_since "$t0") s"

# Trim what an image does not need: downloaded .debs and apt lists.
rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/* "$ROOT"/tmp/* "$ROOT"/var/tmp/*
# A resolv.conf / hostname from the build host must not leak into the image.
: >"$ROOT/etc/resolv.conf"
: >"$ROOT/etc/hostname"

t0=$(now)
tar --numeric-owner -C "$ROOT" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --message "debootstrap --variant=minbase --include=$INCLUDE $SUITE $MIRROR" \
  - "$IMAGE" >/dev/null || die "docker import of $IMAGE failed"
log "imported $IMAGE in $(elapsed_since "$t0") s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

verify_image
printf '%s\n' "$IMAGE"
