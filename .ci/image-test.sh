#!/usr/bin/env bash
# Checks the built service image as an operator runs it (make image-test; not part of pytest,
# since it needs a Docker engine). Usage: .ci/image-test.sh [IMAGE]   (default likecast)
# A tiny model is trained on the host (.venv, `make env`), the image's own command
# materializes the creator store into the mounted home, then the service runs as uid 10001
# with a read-only root filesystem (tmpfs /tmp only) and must: become healthy by its own
# HEALTHCHECK, answer a draft and an early request, and stop on SIGTERM within 10 s with exit
# code 0. Exits non-zero with a one-line reason on the first failure; removes what it made.
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${1:-likecast}
VIDEOS=${IMAGE_TEST_VIDEOS:-3000}
HEALTHY_WITHIN=${IMAGE_TEST_HEALTHY_WITHIN:-180}
NAME=likecast-img-test-$$
WORK=$(mktemp -d /tmp/likecast-img-test.XXXXXX)

fail() { echo "image-test: $*" >&2; exit 1; }
cleanup() {
    docker rm -f "$NAME" "$NAME-store" >/dev/null 2>&1 || true
    docker network rm "$NAME" >/dev/null 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

.ci/docker-engine.sh
docker image inspect "$IMAGE" >/dev/null 2>&1 || fail "no image $IMAGE (make image)"
[ -x .venv/bin/likecast ] || fail "no .venv/bin/likecast (make env)"

# The runtime holds no development package (pyproject.toml's dev group), and the service
# image (the `serve` target) none of the `train` extra either: it says which it is.
extra=$(docker run --rm --entrypoint python "$IMAGE" -c '
import importlib.metadata as m, sys
def has(name):
    try:
        return bool(m.version(name))
    except m.PackageNotFoundError:
        return False
dev = [n for n in ("pytest", "ruff", "mypy", "playwright", "schemathesis", "uv") if has(n)]
if dev:
    sys.exit("development packages in the image: " + ", ".join(dev))
train = [n for n in ("dask", "matplotlib", "mlflow", "optuna", "scikit-learn") if has(n)]
print("with the train extra" if train else "serving packages only")
' 2>&1) || fail "$extra"

# The model and the data, made on the host: a tiny simulated platform ending today, so a
# draft planned now lies within what the store knows (as `make demo`).
start=$(date -u -d '-122 days' +%Y-%m-%d)
LIKECAST_HOME=$WORK/train .venv/bin/likecast simulate --videos "$VIDEOS" --seed 7 \
    --start "$start" --out "$WORK/data" >"$WORK/simulate.log" 2>&1 \
    || fail "simulate failed ($(tail -1 "$WORK/simulate.log"))"
LIKECAST_HOME=$WORK/train .venv/bin/likecast train --data "$WORK/data" \
    >"$WORK/train.log" 2>&1 || fail "train failed ($(tail -1 "$WORK/train.log"))"
# The registered version's MLflow model folder is a model folder LIKECAST_MODEL_URI takes.
model=$(find "$WORK/train/artifacts/models" -mindepth 2 -maxdepth 2 -name artifacts | head -1)
[ -n "$model" ] || fail "train registered no model folder under $WORK/train/artifacts/models"
mkdir -p "$WORK/home" && mv "$model" "$WORK/model"
chown -R 10001 "$WORK/home"  # the service's user writes its store and logs there

# Read-only root: the service writes only to the mounted home (store, logs, the workers'
# shared folder) and to /tmp (BENTOML_HOME, temporary downloads).
run=(--read-only --tmpfs /tmp:rw,exec,mode=1777
     -v "$WORK/home:/home/likecast/.likecast" -v "$WORK/model:/model:ro"
     -v "$WORK/data:/data:ro" -e LIKECAST_MODEL_URI=/model)
docker run --name "$NAME-store" "${run[@]}" "$IMAGE" likecast features materialize \
    --data /data >"$WORK/store.log" 2>&1 \
    || fail "the image's features materialize failed ($(tail -1 "$WORK/store.log"))"

# A user-defined network: an engine without a default bridge publishes ports only from one.
docker network create "$NAME" >/dev/null || fail "docker network create failed"
docker run -d --name "$NAME" --network "$NAME" "${run[@]}" -p 127.0.0.1::3000 "$IMAGE" \
    >/dev/null || fail "docker run failed"
started=$(date +%s)
[ "$(docker exec "$NAME" id -u)" = 10001 ] || fail "the service runs as uid $(docker exec "$NAME" id -u), not 10001"
[ "$(docker inspect -f '{{.HostConfig.ReadonlyRootfs}}' "$NAME")" = true ] \
    || fail "the root filesystem is writable"
docker exec "$NAME" touch /app/probe 2>/dev/null && fail "the root filesystem accepted a write"

status=starting
while [ "$status" != healthy ]; do
    status=$(docker inspect -f '{{.State.Health.Status}}' "$NAME" 2>/dev/null || echo gone)
    case $status in
        unhealthy|gone) fail "the service became $status: $(docker logs "$NAME" 2>&1 | tail -1)" ;;
    esac
    [ $(( $(date +%s) - started )) -le "$HEALTHY_WITHIN" ] \
        || fail "not healthy within ${HEALTHY_WITHIN} s: $(docker logs "$NAME" 2>&1 | tail -1)"
    [ "$status" = healthy ] || sleep 2
done
healthy_after=$(( $(date +%s) - started ))
PORT=$(docker port "$NAME" 3000/tcp | head -1 | sed 's/.*://')
[ -n "$PORT" ] || fail "port 3000 is not published"

# The README's request bodies ("Serving"); each answer must carry a probability in [0, 1].
ask() {
    local route=$1 body=$2 answer
    answer=$(curl -fsS -X POST "http://127.0.0.1:$PORT/$route" \
        -H 'Content-Type: application/json' -d "$body") || fail "$route answered an error"
    echo "$answer" | python3 -c 'import json, sys; p = json.load(sys.stdin)["probability"]; sys.exit(not 0 <= p <= 1)' \
        || fail "$route answered without a probability: ${answer:0:200}"
}
ask predict_draft '{"creator_id": "c000434", "category": "food", "duration_s": 35, "explain": true}'
ask predict_early '{"creator_id": "c000434", "category": "food", "duration_s": 35, "age_minutes": 60,
    "views": 2400, "likes": 95, "earlier": [{"age_minutes": 30, "likes": 40}]}'

# docker stop sends SIGTERM and, 10 s later, SIGKILL (exit code 137).
stop_started=$(date +%s%N)
docker stop -t 10 "$NAME" >/dev/null
stop_ms=$(( ($(date +%s%N) - stop_started) / 1000000 ))
code=$(docker inspect -f '{{.State.ExitCode}}' "$NAME")
[ "$code" = 0 ] || fail "SIGTERM ended the service with exit code $code after $stop_ms ms"
[ "$stop_ms" -lt 10000 ] || fail "the service took $stop_ms ms to stop on SIGTERM"

size=$(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')
printf 'image-test: %s passed: healthy after %s s, uid 10001, read-only root, draft and early answered, stopped in %s ms (exit 0), image %s, %s\n' \
    "$IMAGE" "$healthy_after" "$stop_ms" "$size" "$extra"
