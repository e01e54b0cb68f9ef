#!/usr/bin/env bash
# Make sure the local Python base image exists (Docker Hub is unreachable here,
# so `FROM python:3.11-slim` cannot be pulled; we build an equivalent).
#
#   scripts/ensure-base-image.sh [NAME:TAG]     (default snailtrail/python:3.11-bookworm)
#
# Reuses the image when it exists and carries the current revision label
# (snailtrail.base.revision=$BASE_REVISION); an older revision (or no label:
# the fat revision-1 image) is rebuilt under the same tag. Building debootstraps
# a minbase Debian bookworm (python3 3.11, python3-venv, ca-certificates) from
# the Debian mirror this machine's apt uses, slims it (no docs, man pages,
# translations, apt lists/caches or logs; dpkg excludes keep later apt
# installs from bringing them back), imports it with `docker import` and checks
# that a venv with pip can be made inside it. Prints only the image name on stdout.
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
# Bump when the image content changes: existing images with another value are rebuilt.
BASE_REVISION=2
REVISION_LABEL=snailtrail.base.revision

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

# Revision label of the existing image: "" when the image is missing,
# "none" when it exists without the label (images made before revision 2).
image_revision() {
  docker image inspect -f "{{ with index .Config.Labels \"$REVISION_LABEL\" }}{{ . }}{{ else }}none{{ end }}" \
    "$IMAGE" 2>/dev/null || true
}

rev=$(image_revision)
if [ "$rev" = "$BASE_REVISION" ]; then
  log "reusing existing image $IMAGE (revision $rev)"
  if [ "${SNAILTRAIL_VERIFY_IMAGE:-0}" = 1 ]; then verify_image; else quick_check; fi
  printf '%s\n' "$IMAGE"
  exit 0
fi
[ -z "$rev" ] || log "image $IMAGE has revision $rev, not $BASE_REVISION: rebuilding it (same tag)"

require_root
exec 9>/var/lock/snailtrail-base-image.lock
flock -w 900 9 || die "timed out waiting for /var/lock/snailtrail-base-image.lock"
if [ "$(image_revision)" = "$BASE_REVISION" ]; then
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

# Slim the tree: drop what a runtime never reads. Kept on purpose: the
# copyright files and common-licenses, /usr/share/python-wheels (ensurepip's
# pip/setuptools wheels: `python3 -m venv` needs them), the stdlib's
# __pycache__ (every process start would recompile it otherwise), the dpkg
# database, tzdata, gconv, apt/dpkg themselves (derived images can apt-get).
slim_rootfs() {
  local before after
  # Downloaded .debs and apt lists first (revision 1 removed those too), so
  # the sizes logged below compare with the old image.
  rm -rf "$ROOT"/var/cache/apt/archives/*.deb "$ROOT"/var/lib/apt/lists/*
  before=$(du -sxm "$ROOT" | cut -f1)
  # Future dpkg installs in derived images skip the same paths.
  mkdir -p "$ROOT/etc/dpkg/dpkg.cfg.d"
  cat >"$ROOT/etc/dpkg/dpkg.cfg.d/snailtrail-slim" <<'CFG'
# snailtrail base image: no docs, man/info pages or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/linda/*
CFG
  # apt: no cached .debs, package lists or binary caches, none kept in future.
  cat >"$ROOT/etc/apt/apt.conf.d/docker-clean" <<'CFG'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
CFG
  # Docs except copyright files; man and info pages; translations (message
  # catalogues: C/POSIX needs none; /usr/lib/locale/C.utf8 stays).
  find "$ROOT/usr/share/doc" -mindepth 1 ! -type d ! -name copyright -delete
  find "$ROOT/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$ROOT"/usr/share/man/* "$ROOT"/usr/share/info/* \
         "$ROOT"/usr/share/lintian "$ROOT"/usr/share/linda
  find "$ROOT/usr/share/locale" -mindepth 1 -maxdepth 1 -type d -exec rm -rf {} +
  # The stdlib's regression-test package (not imported by anything at runtime).
  rm -rf "$ROOT"/usr/lib/python3.*/test
  # apt's binary caches; debconf and dpkg backups; logs; temp files.
  rm -rf "$ROOT"/var/cache/apt/*.bin "$ROOT"/var/cache/debconf/*-old "$ROOT"/var/lib/dpkg/*-old \
         "$ROOT"/tmp/* "$ROOT"/var/tmp/*
  find "$ROOT/var/log" -type f \( -name '*.log' -o -name 'lastlog' -o -name 'faillog' -o -name 'wtmp' -o -name 'btmp' \) \
    -exec truncate -s 0 {} +
  after=$(du -sxm "$ROOT" | cut -f1)
  log "slimmed rootfs: ${before} MB -> ${after} MB"
}
slim_rootfs
# A resolv.conf / hostname from the build host must not leak into the image.
: >"$ROOT/etc/resolv.conf"
: >"$ROOT/etc/hostname"

t0=$(now)
tar --numeric-owner -C "$ROOT" -c . | docker import \
  --change 'ENV LANG=C.UTF-8' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'CMD ["python3"]' \
  --change "LABEL $REVISION_LABEL=$BASE_REVISION" \
  --message "debootstrap --variant=minbase --include=$INCLUDE $SUITE $MIRROR" \
  - "$IMAGE" >/dev/null || die "docker import of $IMAGE failed"
log "imported $IMAGE in $(elapsed_since "$t0") s ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{ printf "%.0f MB", $1 / 1e6 }'))"

verify_image
printf '%s\n' "$IMAGE"
