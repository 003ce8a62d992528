#!/usr/bin/env bash
# Starts a Docker engine when none answers (docs/facts.md, "Containers"): Debian's docker.io,
# run as root with overlay2 storage, no iptables and no default bridge, since these machines
# allow neither; builds then use `--network host`. Leaves a running engine alone.
set -euo pipefail
LOG=${DOCKERD_LOG:-/tmp/dockerd.log}

fail() { echo "docker-engine: $*" >&2; exit 1; }

if docker info >/dev/null 2>&1; then
    exit 0
fi
[ "$(id -u)" = 0 ] || fail "no engine answers and starting one needs root"
if ! command -v dockerd >/dev/null; then
    apt-get update -qq && apt-get install -y -qq docker.io >/dev/null \
        || fail "could not install docker.io from apt"
fi
nohup dockerd --storage-driver overlay2 --iptables=false --bridge=none >"$LOG" 2>&1 &
for _ in $(seq 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
done
fail "dockerd did not answer within 60 s (log: $LOG)"
