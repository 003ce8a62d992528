#!/usr/bin/env bash
# Makes a base image shaped like python:3.11-slim from Debian's packages, for machines where
# the public image registry cannot be reached (docs/facts.md, "Containers"). Usage:
#   .ci/base-image.sh [NAME]      (default likecast-img-base:bookworm)
# The machine's CA bundle replaces the rootfs's own: the package registries are reached
# through a proxy whose CA only that bundle holds, and the image's builds need them.
set -euo pipefail
NAME=${1:-likecast-img-base:bookworm}
SUITE=bookworm
WORK=${BASE_IMAGE_WORK:-/tmp/image}
ROOTFS=$WORK/rootfs
BUNDLE=/etc/ssl/certs/ca-certificates.crt

fail() { echo "base-image: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "debootstrap needs root"
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; } \
    || fail "could not install debootstrap from apt"
[ -f "$BUNDLE" ] || fail "no CA bundle at $BUNDLE"
# The mirror apt already uses here: the first deb.debian.org-like URI its sources name.
MIRROR=$(grep -rhoE '^(URIs:|deb) +https?://[^ ]+/debian/?' /etc/apt/sources.list /etc/apt/sources.list.d/ 2>/dev/null \
    | awk '{print $2}' | head -1 || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}

rm -rf "$ROOTFS" && mkdir -p "$ROOTFS"
debootstrap --variant=minbase --include=python3.11,python3.11-venv,python3-pip,ca-certificates \
    "$SUITE" "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 \
    || fail "debootstrap failed (log: $WORK/debootstrap.log)"
# The names python:3.11-slim gives: python, python3 and pip on PATH; pip may install into the
# system Python (a build stage installs uv with it).
ln -sf /usr/bin/python3.11 "$ROOTFS/usr/local/bin/python"
ln -sf /usr/bin/python3.11 "$ROOTFS/usr/local/bin/python3"
ln -sf /usr/bin/pip3 "$ROOTFS/usr/local/bin/pip"
rm -f "$ROOTFS/usr/lib/python3.11/EXTERNALLY-MANAGED"
cp "$BUNDLE" "$ROOTFS$BUNDLE"
# Not part of a slim base (as python:3.11-slim): apt's lists and caches, documentation,
# manual pages and translations (78, 13, 7 and 33 MB). The apt setting keeps later
# installs from caching packages, as Debian's own images do.
rm -rf "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/var/cache/apt/* \
    "$ROOTFS"/usr/share/doc/* "$ROOTFS"/usr/share/man/* "$ROOTFS"/usr/share/locale/*
cat >"$ROOTFS/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
CONF
tar -C "$ROOTFS" -c . | docker import \
    --change "ENV SSL_CERT_FILE=$BUNDLE" --change "ENV PIP_CERT=$BUNDLE" \
    --change 'ENV UV_NATIVE_TLS=1' --change 'CMD ["python3"]' - "$NAME" >/dev/null \
    || fail "docker import failed"
rm -rf "$ROOTFS"
echo "$NAME"
