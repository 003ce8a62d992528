#!/usr/bin/env bash
# Runs the whole deployment of compose.yaml as an operator would and checks it (make
# compose-test; not part of pytest, since it needs a Docker engine and docker-compose).
# Builds the three images, brings up PostgreSQL, MLflow, the Dask scheduler and two workers,
# simulates a small platform, trains on the cluster, promotes, materializes the creator store
# into PostgreSQL, starts the two replicas, then trains and promotes a second version while a
# light load goes to both replicas: both must swap to it with no failed request. Last, scores
# the videos on the cluster. Prints each step's time, the requests sent and failed and each
# replica's swap time, writes them as JSON (COMPOSE_SMOKE_OUT), and tears everything down,
# also on failure. Exits non-zero with a one-line reason on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
PROJECT=likecast-cmp
VIDEOS=${COMPOSE_SMOKE_VIDEOS:-3000}
RATE=${COMPOSE_SMOKE_RATE:-4}                # requests per second, over both replicas
SWAP_WITHIN=${COMPOSE_SMOKE_SWAP_WITHIN:-180} # seconds from the promotion
HEALTHY_WITHIN=${COMPOSE_SMOKE_HEALTHY_WITHIN:-300}
OUT=${COMPOSE_SMOKE_OUT:-bench/results/compose_smoke.json}
WORK=$(mktemp -d /tmp/likecast-cmp.XXXXXX)
# Host ports on the loopback (compose.yaml publishes nothing else); a short alias check, so
# the swap is seen within seconds; one BentoML worker per replica on a small machine.
export LIKECAST_MLFLOW_HOST_PORT=${LIKECAST_MLFLOW_HOST_PORT:-47050}
export LIKECAST_REPLICA_1_HOST_PORT=${LIKECAST_REPLICA_1_HOST_PORT:-47051}
export LIKECAST_REPLICA_2_HOST_PORT=${LIKECAST_REPLICA_2_HOST_PORT:-47052}
export LIKECAST_DASK_DASHBOARD_HOST_PORT=${LIKECAST_DASK_DASHBOARD_HOST_PORT:-47053}
export LIKECAST_RELOAD_INTERVAL_S=${LIKECAST_RELOAD_INTERVAL_S:-5}
export LIKECAST_SERVICE_WORKERS=${LIKECAST_SERVICE_WORKERS:-1}
export LIKECAST_DASK_WORKER_MEMORY=${LIKECAST_DASK_WORKER_MEMORY:-3GB}
declare -A SECONDS_OF=()
STEPS=()

fail() { echo "compose-smoke: $*" >&2; exit 1; }
compose() { docker-compose -p "$PROJECT" -f compose.yaml "$@"; }
cleanup() {
    [ -z "${LOAD_PID:-}" ] || kill "$LOAD_PID" 2>/dev/null || true
    compose --profile run down -v --remove-orphans >"$WORK/down.log" 2>&1 || true
    rm -rf "$WORK"
}
trap cleanup EXIT

# step NAME COMMAND...: runs it with its output in $WORK/NAME.log, times it, and fails with
# the log's last line.
step() {
    local name=$1 started
    shift
    started=$(date +%s.%N)
    "$@" >"$WORK/$name.log" 2>&1 || fail "$name failed: $(tail -1 "$WORK/$name.log")"
    SECONDS_OF[$name]=$(echo "$(date +%s.%N) - $started" | bc | xargs printf '%.1f')
    STEPS+=("$name")
    echo "compose-smoke: $name ${SECONDS_OF[$name]} s"
}
oneoff() { compose run --rm -T "$@"; }  # a one-off command in a new container
healthy() {  # waits until every named service's container reports healthy
    local service id status deadline=$(( $(date +%s) + HEALTHY_WITHIN ))
    for service in "$@"; do
        id=$(compose ps -q "$service")
        [ -n "$id" ] || { echo "no container for $service"; return 1; }
        while status=$(docker inspect -f '{{.State.Health.Status}}' "$id"); [ "$status" != healthy ]; do
            [ "$(date +%s)" -le "$deadline" ] || { echo "$service is $status after ${HEALTHY_WITHIN} s: $(docker logs "$id" 2>&1 | tail -1)"; return 1; }
            sleep 1
        done
    done
}
up() { compose up -d "$@" && healthy "$@"; }

.ci/docker-engine.sh
command -v docker-compose >/dev/null || fail "no docker-compose (apt-get install docker-compose)"
[ -x .venv/bin/python ] || fail "no .venv/bin/python (make env)"
compose config -q || fail "compose.yaml does not parse"

step images bash -c '.ci/image.sh likecast-img-serve serve && .ci/image.sh likecast-img-full full && .ci/image.sh likecast-img-postgres postgres'
step infrastructure up postgres mlflow scheduler worker-1 worker-2
# A small platform ending today (as `make demo`), in parts of 1000 videos: the Dask engine's
# unit of work; the trainer and the workers share it in the volume mounted at /shared.
start=$(date -u -d '-122 days' +%Y-%m-%d)
step simulate oneoff trainer likecast simulate --videos "$VIDEOS" --seed 7 --start "$start" \
    --part-videos 1000 --out /shared/data
step train_1 oneoff trainer likecast train --data /shared/data --engine dask \
    --scheduler tcp://scheduler:8786 --work /shared/work-1
# --force, both times: on a platform this small the baselines beat LightGBM at some ages and
# promote refuses (exit 3); the smoke checks the deployment and the swap, not the model.
step promote_1 oneoff trainer likecast promote --force
step materialize oneoff trainer likecast features materialize --data /shared/data
step replicas up replica-1 replica-2

# The load: RATE requests a second, taking turns between the replicas, each answer's model
# version noted with its time; it runs until told to stop (a file) and writes its figures.
.venv/bin/python - "$RATE" "$WORK" "$LIKECAST_REPLICA_1_HOST_PORT" "$LIKECAST_REPLICA_2_HOST_PORT" \
    >"$WORK/load.log" 2>&1 <<'PY' &
import json, sys, threading, time, urllib.request
from pathlib import Path

rate, work, ports = float(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:]
body = json.dumps({"creator_id": "c000434", "category": "food", "duration_s": 35}).encode()
answers: list[dict] = []
lock = threading.Lock()

def ask(replica: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{ports[replica]}/predict_draft", data=body,
        headers={"Content-Type": "application/json"})
    sent = time.time()
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            entry = {"ok": True, "version": json.load(response)["model_version"]}
    except Exception as exc:  # every failure counts, whatever it is
        entry = {"ok": False, "error": str(exc)[:200]}
    with lock:
        answers.append({"replica": replica, "sent": sent, **entry})

start, n = time.time(), 0
while not (work / "stop").exists():
    threading.Thread(target=ask, args=(n % len(ports),)).start()
    n += 1
    time.sleep(max(0.0, start + n / rate - time.time()))
while threading.active_count() > 1:
    time.sleep(0.05)
(work / "load.json").write_text(json.dumps(answers))
PY
LOAD_PID=$!
sleep 5  # answers from the first version before the champion changes
step train_2 oneoff -e LIKECAST_SEED=43 trainer likecast train --data /shared/data \
    --engine dask --scheduler tcp://scheduler:8786 --work /shared/work-2
step promote_2 oneoff trainer likecast promote --force
promoted=$(date +%s.%N)

# Both replicas must answer with the new version (their /readyz names the served one).
seen() { curl -fsS "http://127.0.0.1:$1/readyz" | grep -q "model $2;"; }
new_version=$(grep -oE 'version [0-9]+' "$WORK/promote_2.log" | tail -1 | awk '{print $2}')
[ -n "$new_version" ] || fail "cannot tell the promoted version from: $(tail -1 "$WORK/promote_2.log")"
declare -A SWAP_S=()
deadline=$(( $(date +%s) + SWAP_WITHIN ))
for port in "$LIKECAST_REPLICA_1_HOST_PORT" "$LIKECAST_REPLICA_2_HOST_PORT"; do
    until seen "$port" "$new_version"; do
        [ "$(date +%s)" -le "$deadline" ] || fail "the replica on port $port did not swap to version $new_version within ${SWAP_WITHIN} s"
        sleep 0.5
    done
    SWAP_S[$port]=$(echo "$(date +%s.%N) - $promoted" | bc | xargs printf '%.1f')
done
sleep 5  # answers from the new version
touch "$WORK/stop"
wait "$LOAD_PID" || fail "the load failed: $(tail -1 "$WORK/load.log")"
LOAD_PID=

step score oneoff trainer likecast score --input /shared/data/videos --output /shared/scored \
    --engine dask --scheduler tcp://scheduler:8786
scored=$(oneoff trainer python -c 'import pyarrow.dataset as d; print(d.dataset("/shared/scored").count_rows())' 2>/dev/null | tail -1)
[ "$scored" = "$VIDEOS" ] || fail "score wrote $scored rows for $VIDEOS videos"

# The figures: steps' times, the load, each replica's swap (first answer of the new version).
.venv/bin/python - "$WORK/load.json" "$OUT" "$new_version" "$promoted" "$VIDEOS" "$RATE" \
    "${SWAP_S[$LIKECAST_REPLICA_1_HOST_PORT]}" "${SWAP_S[$LIKECAST_REPLICA_2_HOST_PORT]}" \
    "$(for s in "${STEPS[@]}"; do printf '%s=%s ' "$s" "${SECONDS_OF[$s]}"; done)" <<'PY' || fail "the load had failures (above)"
import json, sys
from pathlib import Path

load, out, new, promoted = json.loads(Path(sys.argv[1]).read_text()), Path(sys.argv[2]), sys.argv[3], float(sys.argv[4])
videos, rate, ready_1, ready_2, steps = int(sys.argv[5]), float(sys.argv[6]), sys.argv[7], sys.argv[8], sys.argv[9]
failed = [a for a in load if not a["ok"]]
first_new = {}
for a in sorted(load, key=lambda a: a["sent"]):
    if a["ok"] and a["version"] == new:
        first_new.setdefault(a["replica"], round(a["sent"] - promoted, 1))
figures = {
    "videos": videos,
    "rate_per_s": rate,
    "requests_sent": len(load),
    "requests_failed": len(failed),
    "versions_answered": sorted({a["version"] for a in load if a["ok"]}),
    "swap_s_readyz": {"replica-1": float(ready_1), "replica-2": float(ready_2)},
    "swap_s_first_answer": {f"replica-{r + 1}": s for r, s in sorted(first_new.items())},
    "step_s": {k: float(v) for k, v in (p.split("=") for p in steps.split())},
}
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(figures, indent=2) + "\n")
print(json.dumps(figures))
for a in failed[:3]:
    print(f"failed: replica-{a['replica'] + 1}: {a['error']}", file=sys.stderr)
sys.exit(1 if failed or len(first_new) < 2 else 0)
PY
echo "compose-smoke: passed ($OUT)"
