"""Serving: one draft per request over HTTP with 8 connections, /predict_batch with 1,000
items, and the service's memory with the champion and a 100k-creator store loaded.

Targets: throughput at least 50% of the anchor's, p99 under 10 ms, batch at least 20,000
predictions/s, RSS under 600 MB. Anchors, in the same run, same model, same store:
- bare Starlette + uvicorn doing the same request handling (bench/anchor_app.py);
- the in-process Predictor.predict on the same draft.
Load comes from wrk (Debian package `wrk`), a separate process on the same machine. The
servers take turns for ``--rounds`` rounds and each figure is the median of its rounds.
RSS is the whole `bentoml serve` process tree (supervisor and worker). Afterwards the
same service with two workers (LIKECAST_SERVICE_WORKERS=2) runs the draft load alone and is
reported apart: the targets are checked on the default, one worker.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pandas as pd
import psutil

from bench.common import CACHE, timed, write_result
from features.loading import load_dataset
from features.settings import Settings
from features.simulator import SimConfig, simulate, write_platform
from features.store import CreatorStore, current_history, write_store
from serving.demo import DRAFT
from serving.predictor import Predictor
from serving.schemas import Draft
from training.registry import load_model
from training.train import fit

CONNECTIONS = 8
PLAIN_DRAFT = {k: v for k, v in DRAFT.items() if k != "explain"}  # explanations cost extra


def model_and_store(creators: int) -> tuple[Path, Path]:
    """A model trained on 20k simulated videos and a store of ``creators`` creators (cached)."""
    folder = CACHE / f"serving-{creators}"
    model, store = folder / "model", folder / "creator_store.sqlite"
    if model.exists() and store.exists():
        return model, store
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(home=Path(tmp) / "home")
        train_data = Path(tmp) / "train"
        write_platform(simulate(SimConfig(videos=20_000, seed=7)), train_data)
        fit(load_dataset(train_data), settings, {}).bundle.save(model)
        store_data = Path(tmp) / "store"
        write_platform(
            simulate(SimConfig(videos=creators * 3, videos_per_creator=3.0, seed=11)), store_data
        )
        dataset = load_dataset(store_data)
        at = dataset.videos["posted_at"].max() + pd.Timedelta(days=1)
        history = current_history(
            dataset, at, settings.threshold, settings.horizon_minutes, settings.history_window
        )
        write_store(history, store)
    return model, store


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(command: list[str], env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen:
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=cwd
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            reply = httpx.post(f"http://127.0.0.1:{port}/predict_draft", json=PLAIN_DRAFT)
            if reply.status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"{command[0]} did not answer within 120 s")


def stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()


def tree_rss_mb(process: subprocess.Popen) -> dict[str, float]:
    """RSS of the server process tree: the largest process (the worker) and the total."""
    root = psutil.Process(process.pid)
    sizes = [p.memory_info().rss for p in [root, *root.children(recursive=True)]]
    return {"worker_mb": round(max(sizes) / 2**20, 1), "total_mb": round(sum(sizes) / 2**20, 1)}


def wrk(url: str, body: dict, seconds: int, connections: int, folder: Path) -> dict[str, float]:
    """requests/s and latency percentiles from wrk, with the POST body from a Lua script."""
    script = folder / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        'wrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(json.dumps(body))}\n"
    )
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout

    def ms(text: str) -> float:
        value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return round(float(value) * {"us": 1e-3, "ms": 1.0, "s": 1e3}[unit], 3)

    def percentile(label: str) -> float:
        return ms(re.search(rf"^\s+{label}\s+(\S+)$", out, re.M).group(1))  # type: ignore[union-attr]

    latency = re.search(r"^\s+Latency\s+(\S+)\s+(\S+)\s+(\S+)", out, re.M).groups()  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "mean_ms": ms(latency[0]),
        "p50_ms": percentile("50%"),
        "p90_ms": percentile("90%"),
        "p99_ms": percentile("99%"),
        "max_ms": ms(latency[2]),
        "non_2xx": int(errors.group(1)) if errors else 0,
    }


def median_run(rounds: list[dict[str, float]]) -> dict[str, float]:
    """Each figure's median over the rounds (non-2xx summed: any failure counts)."""
    return {
        key: sum(r[key] for r in rounds)
        if key == "non_2xx"
        else round(statistics.median(r[key] for r in rounds), 3)
        for key in rounds[0]
    }


def in_process(model: Path, home: Path) -> float:
    settings = Settings(home=home)
    predictor = Predictor(
        load_model(str(model), settings), CreatorStore(settings.store_path), settings
    )
    draft = Draft.model_validate(PLAIN_DRAFT)
    for _ in range(200):
        predictor.predict([draft])
    times: dict[str, float] = {}
    with timed(times, "t"):
        for _ in range(2000):
            predictor.predict([draft])
    return round(times["t"] / 2000 * 1000, 4)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="duration of each wrk run")
    parser.add_argument("--creators", type=int, default=100_000, help="creators in the store")
    parser.add_argument(
        "--rounds", type=int, default=3, help="turns each server takes under the draft load"
    )
    parser.add_argument("--quick", action="store_true", help="5 s runs, 5k-creator store")
    args = parser.parse_args(argv)
    seconds, creators = (5, 5_000) if args.quick else (args.seconds, args.creators)
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk)", file=sys.stderr)
        return 2
    model, store = model_and_store(creators)
    result: dict = {"connections": CONNECTIONS, "seconds_per_run": seconds, "creators": creators}
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        home.mkdir()
        shutil.copy(store, home / "creator_store.sqlite")
        result["in_process_predict_ms"] = in_process(model, home)
        env = {
            **os.environ,
            "LIKECAST_HOME": str(home),
            "LIKECAST_MODEL_URI": str(model),
            "OMP_NUM_THREADS": "2",
        }
        draft = PLAIN_DRAFT
        batch = {"items": [{**draft, "creator_id": f"c{i:07d}"} for i in range(1000)]}

        anchor_port, service_port = free_port(), free_port()
        anchor = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.anchor_app:app",
                "--port",
                str(anchor_port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            {**env, "PYTHONPATH": str(Path.cwd())},
            anchor_port,
            Path(tmp),
        )
        serve = [str(Path(sys.executable).with_name("likecast")), "serve", "--model", str(model)]
        service = start([*serve, "--port", str(service_port)], env, service_port, Path(tmp))
        try:
            result["rss_after_start"] = tree_rss_mb(service)
            # This VM's speed drifts by tens of percent within minutes: the servers take
            # turns, and each figure is the median of its rounds.
            anchor_url = f"http://127.0.0.1:{anchor_port}"
            service_url = f"http://127.0.0.1:{service_port}"
            runs: dict[str, list[dict[str, float]]] = {
                "starlette_draft": [],
                "bentoml_draft": [],
                "bentoml_batch_1000": [],
            }
            for _ in range(args.rounds):
                for name, url, body, connections in (
                    ("starlette_draft", f"{anchor_url}/predict_draft", draft, CONNECTIONS),
                    ("bentoml_draft", f"{service_url}/predict_draft", draft, CONNECTIONS),
                    ("bentoml_batch_1000", f"{service_url}/predict_batch", batch, 2),
                ):
                    runs[name].append(wrk(url, body, seconds, connections, Path(tmp)))
            for name, rounds in runs.items():
                result[name] = {**median_run(rounds), "rounds": rounds}
            batch_run = result["bentoml_batch_1000"]
            batch_run["predictions_per_s"] = round(batch_run["requests_per_s"] * 1000, 1)
            result["rss_after_load"] = tree_rss_mb(service)
        finally:
            stop(anchor)
            stop(service)
        # Then, alone, the same service with two workers (LIKECAST_SERVICE_WORKERS=2).
        pair_port = free_port()
        pair_env = {**env, "LIKECAST_SERVICE_WORKERS": "2"}
        pair = start([*serve, "--port", str(pair_port)], pair_env, pair_port, Path(tmp))
        try:
            pair_url = f"http://127.0.0.1:{pair_port}/predict_draft"
            rounds = [
                wrk(pair_url, draft, seconds, CONNECTIONS, Path(tmp)) for _ in range(args.rounds)
            ]
            result["bentoml_2_workers_draft"] = {**median_run(rounds), "rounds": rounds}
            result["rss_2_workers_after_load"] = tree_rss_mb(pair)
        finally:
            stop(pair)

    bento, anchor_run = result["bentoml_draft"], result["starlette_draft"]
    result["throughput_vs_starlette"] = round(
        bento["requests_per_s"] / anchor_run["requests_per_s"], 3
    )
    result["targets"] = {
        "throughput_vs_starlette": 0.5,
        "p99_ms": 10,
        "batch_predictions_per_s": 20_000,
        "service_rss_mb": 600,
    }
    result["meets_targets"] = (
        result["throughput_vs_starlette"] >= 0.5
        and bento["p99_ms"] < 10
        and bento["non_2xx"] == 0
        and result["bentoml_batch_1000"]["predictions_per_s"] >= 20_000
        and result["rss_after_load"]["total_mb"] < 600
    )
    write_result("serving", result, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
