"""Batch scoring: `likecast score`, Parquet in -> Parquet out, 5M videos on 2 cores.

Targets: the local engine at least 50% of a bare ``booster.predict``'s rows/s end to end,
and peak memory under 2 GB on an input larger than that in memory. The Dask engine on a
LocalCluster gives the same output (row for row, probabilities equal to 1e-9); its overhead
is reported, and ``--workers`` sets its size so scaling can be measured on a bigger machine.

Anchor, in the same run: ``booster.predict`` on the already-built feature matrix of the
first million videos (the limit: no reading, no validation, no features, no writing).
Each engine runs as a user runs it, in its own process, whose peak memory is measured.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pyarrow as pa
import pyarrow.parquet as pq

from bench.bench_features import data
from bench.bench_serving import model_and_store
from bench.common import timed, write_result
from features.store import CreatorStore
from features.validation import clean_table
from models.bundle import ModelBundle
from serving.batch.scoring import Scorer, ScoringAge

ROW_GROUP = 100_000


def catalogue(copies: int, folder: Path) -> tuple[Path, int, float]:
    """``copies`` x the 1M simulated videos with fresh ids, written one copy at a time."""
    source = data(1_000_000) / "videos.parquet"
    target = folder / f"videos-{copies}m.parquet"
    videos = pq.read_table(source)
    in_memory_mb = videos.to_pandas().memory_usage(deep=True).sum() / 2**20
    ids = videos.column("video_id").to_pylist()
    with pq.ParquetWriter(target, videos.schema) as writer:
        for copy in range(copies):
            fresh = pa.array([f"{i}-{copy}" for i in ids], type=videos.schema.field(0).type)
            writer.write_table(videos.set_column(0, "video_id", fresh), row_group_size=ROW_GROUP)
    return target, copies * len(ids), round(in_memory_mb * copies, 1)


def bare_predict(model: Path, store: Path, source: Path) -> float:
    """Rows/s of booster.predict alone on the first million videos' feature matrix."""
    raw = pq.ParquetFile(source).read_row_groups(range(10)).to_pandas()
    videos = clean_table(raw, "videos").clean
    scorer = Scorer(ModelBundle.load(model), "local", CreatorStore(store).timeline(), ScoringAge())
    _, matrix = scorer.features(videos, np.zeros(len(videos)))
    times: dict[str, float] = {}
    with timed(times, "predict"):
        scorer.bundle.booster.predict(matrix, raw_score=True, num_threads=2)
    return len(matrix) / times["predict"]


def run_score(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Seconds of one `likecast score` process, and the peak RSS (MB) of its process tree
    (the command plus any Dask workers), sampled every 100 ms."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("likecast")), "score", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    root, peak = psutil.Process(process.pid), 0
    while process.poll() is None:
        try:
            tree = [root, *root.children(recursive=True)]
            peak = max(peak, sum(p.memory_info().rss for p in tree))
        except psutil.Error:
            pass
        time.sleep(0.1)
    seconds = time.perf_counter() - started
    if process.returncode:
        raise RuntimeError(process.stderr.read()[-2000:] if process.stderr else "failed")
    return round(seconds, 2), round(peak / 2**20, 1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--copies", type=int, default=5, help="millions of videos to score")
    parser.add_argument("--workers", type=int, default=2, help="Dask LocalCluster workers")
    parser.add_argument(
        "--large-copies",
        type=int,
        default=16,
        help="millions of videos for a local-engine run whose input exceeds 2 GB in pandas",
    )
    parser.add_argument("--quick", action="store_true", help="1M videos")
    args = parser.parse_args(argv)
    copies, large = (1, 2) if args.quick else (args.copies, args.large_copies)
    model, store, _registry = model_and_store(100_000)
    result: dict = {"workers": args.workers}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        home = folder / "home"
        home.mkdir()
        shutil.copy(store, home / "creator_store.sqlite")
        source, rows, in_memory_mb = catalogue(copies, folder)
        result["videos"] = rows
        result["input_in_pandas_mb"] = in_memory_mb
        result["input_file_mb"] = round(source.stat().st_size / 2**20, 1)
        bare = bare_predict(model, home / "creator_store.sqlite", source)
        result["bare_predict_rows_per_s"] = round(bare)

        env = {**os.environ, "LIKECAST_HOME": str(home), "OMP_NUM_THREADS": "2"}
        common = ["--input", str(source), "--model", str(model)]
        local_out, dask_out = folder / "local.parquet", folder / "dask"
        seconds, peak = run_score([*common, "--output", str(local_out)], env)
        result["local"] = {
            "seconds": seconds,
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb": peak,
        }
        workers = ["--workers", str(args.workers)]
        seconds, peak = run_score(
            [*common, "--output", str(dask_out), "--engine", "dask", *workers],
            env,
        )
        result["dask"] = {
            "seconds": seconds,
            "rows_per_s": round(rows / seconds),
            "peak_rss_mb_all_processes": peak,
        }
        a = pq.read_table(local_out, columns=["video_id", "probability"])
        b = pq.read_table(dask_out, columns=["video_id", "probability"])
        same_ids = a.column("video_id").equals(b.column("video_id"))
        p_local, p_dask = (t.column("probability").to_numpy() for t in (a, b))
        gap = float(np.max(np.abs(p_local - p_dask)))
        result["dask_equals_local"] = {"same_rows_in_order": bool(same_ids), "max_abs_diff": gap}
        del a, b, p_local, p_dask
        local_out.unlink()
        shutil.rmtree(dask_out)
        source.unlink()

        # the same job on a bigger input: memory stays where it was
        source, rows_large, in_memory_large = catalogue(large, folder)
        seconds, peak = run_score(
            ["--input", str(source), "--model", str(model), "--output", str(local_out)], env
        )
        result["local_large_input"] = {
            "videos": rows_large,
            "input_in_pandas_mb": in_memory_large,
            "seconds": seconds,
            "rows_per_s": round(rows_large / seconds),
            "peak_rss_mb": peak,
        }

    local = result["local"]
    local["vs_bare_predict"] = round(local["rows_per_s"] / result["bare_predict_rows_per_s"], 3)
    result["dask"]["overhead_vs_local"] = round(result["dask"]["seconds"] / local["seconds"] - 1, 3)
    result["targets"] = {"vs_bare_predict": 0.5, "peak_rss_mb": 2048, "max_abs_diff": 1e-9}
    result["meets_targets"] = (
        local["vs_bare_predict"] >= 0.5
        and local["peak_rss_mb"] < 2048
        and result["local_large_input"]["peak_rss_mb"] < 2048
        and result["dask_equals_local"]["same_rows_in_order"]
        and result["dask_equals_local"]["max_abs_diff"] <= 1e-9
    )
    write_result("scoring", result, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
