#!/usr/bin/env bash
# Builds an image of the Dockerfile (make image). Usage: .ci/image.sh [NAME [TARGET]]
# (default likecast, target serve: the service; `full` adds training, Dask and the MLflow
# server; `postgres` is the compose deployment's database).
# BASE_IMAGE (default python:3.11-slim) is used when it is on this engine or can be pulled;
# when the default cannot be had, the base .ci/base-image.sh makes from Debian's packages is
# used instead (made first if missing). A BASE_IMAGE set by hand is never replaced.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=${1:-likecast}
TARGET=${2:-serve}
DEFAULT_BASE=python:3.11-slim
LOCAL_BASE=likecast-img-base:bookworm
BASE=${BASE_IMAGE:-$DEFAULT_BASE}

fail() { echo "image: $*" >&2; exit 1; }

.ci/docker-engine.sh
if ! docker image inspect "$BASE" >/dev/null 2>&1 && ! timeout 120 docker pull -q "$BASE" >/dev/null 2>&1; then
    [ "$BASE" = "$DEFAULT_BASE" ] || fail "base image $BASE is neither here nor pullable"
    echo "image: $DEFAULT_BASE cannot be pulled; using $LOCAL_BASE (Debian's packages)" >&2
    BASE=$LOCAL_BASE
    docker image inspect "$BASE" >/dev/null 2>&1 || .ci/base-image.sh "$BASE" >/dev/null
fi
# --network host: the engine runs without a bridge here (docs/facts.md, "Containers").
docker build --network host --build-arg "BASE_IMAGE=$BASE" --target "$TARGET" -t "$NAME" . \
    || fail "docker build failed"
echo "$NAME ($TARGET): $(docker image inspect -f '{{.Size}}' "$NAME" | awk '{printf "%.0f MB", $1/1e6}') on $BASE"
