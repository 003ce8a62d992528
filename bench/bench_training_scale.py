"""Training at scale on Dask: 10M simulated videos on this 2-core, 24 GB machine.

Targets (issue #19): every process's peak memory under 6 GB while training on 10M videos
and the wall time under 90 minutes (reported per stage); the peak at 10M within 1.5x the
peak at 1M; feature building on Dask at least 70% of the local engine's throughput on 1M.

Anchor, in the same run: the local engine building the same 1M videos' features (load,
validate, label, history, examples, features) in one process, from the same files.
Each measured step runs in a child process; this process samples the resident memory of
the child and of everything it starts (the LocalCluster's workers) every 0.2 s and keeps
each process's peak.

    python -m bench.bench_training_scale                      # 1M and 10M videos
    python -m bench.bench_training_scale --sizes 200000 1000000 --quick
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

from bench.common import CACHE, write_result

TARGETS = {
    "peak_process_gb": 6.0,
    "wall_minutes": 90.0,
    "peak_ratio_10m_to_1m": 1.5,
    "dask_feature_throughput_ratio": 0.7,
}


class PeakMemory:
    """Samples a process tree's resident memory; each process's peak, by its role."""

    def __init__(self, root: int) -> None:
        self.root = psutil.Process(root)
        self.peaks: dict[int, tuple[str, float]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                tree = [self.root, *self.root.children(recursive=True)]
            except psutil.Error:
                break
            for process in tree:
                try:
                    rss = process.memory_info().rss / 2**30
                    role = _role(process)
                except psutil.Error:
                    continue
                _, peak = self.peaks.get(process.pid, (role, 0.0))
                self.peaks[process.pid] = (role, max(peak, rss))
            time.sleep(0.2)

    def summary(self) -> dict[str, float]:
        """The highest peak of each role (client, worker, nanny, ...), in GB."""
        out: dict[str, float] = {}
        for role, peak in self.peaks.values():
            out[role] = round(max(out.get(role, 0.0), peak), 3)
        return out


def _role(process: psutil.Process) -> str:
    line = " ".join(process.cmdline())
    if "--child" in line or "likecast" in line:
        return "client"
    if "multiprocessing" in line or "forkserver" in line or "spawn" in line:
        return "worker"
    return process.name()


def measured(command: list[str]) -> tuple[float, dict[str, float]]:
    """Run ``command``; its wall time and the peak memory of each role in its tree."""
    started = time.perf_counter()
    process = subprocess.Popen(command)
    with PeakMemory(process.pid) as peaks:
        code = process.wait()
    if code != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {code}")
    return time.perf_counter() - started, peaks.summary()


def simulated(videos: int, part_videos: int) -> tuple[Path, dict[str, Any]]:
    """The simulated data set of ``videos`` videos in parts, made once and cached."""
    folder = CACHE / f"scale-{videos}-{part_videos}"
    if (folder / "videos").exists() or (folder / "videos.parquet").exists():
        return folder, {"cached": True}
    staging = Path(tempfile.mkdtemp(dir=CACHE, prefix=".scale-"))
    seconds, peaks = measured(
        [str(Path(sys.executable).parent / "likecast"), "simulate", "--out", str(staging),
         "--videos", str(videos), "--part-videos", str(part_videos)]
    )  # fmt: skip
    staging.replace(folder)
    return folder, {"seconds": round(seconds, 1), "peak_gb": peaks}


def child(mode: str, data: Path, out: Path, negative_rate: float) -> None:
    """One measured step, in this (child) process; its figures written to ``out``."""
    from likecast.settings import Settings

    settings = Settings(home=Path(tempfile.mkdtemp(prefix="likecast-scale-")))
    started = time.perf_counter()
    if mode == "local-features":
        from features.loading import load_dataset
        from training.train import prepare

        _ex, _spec, features = prepare(load_dataset(data), settings)
        result: dict[str, Any] = {"examples": len(features)}
    else:
        from likecast.dask_cluster import cluster
        from training.partitioned import fit_partitioned

        with (
            cluster(None, settings.lgbm_threads) as client,
            tempfile.TemporaryDirectory(dir=settings.home) as work,
        ):
            outcome, prints = fit_partitioned(data, settings, {}, client, Path(work), negative_rate)
        metrics = outcome.metrics
        result = {
            "videos": prints["videos"],
            "parts": prints["parts"],
            "examples": sum(outcome.summary["rows"].values()) + outcome.summary["decided_rows"],
            "booster_rows": outcome.summary["booster_rows"],
            "sampled": outcome.summary["sampled"],
            "booster_videos_rate": outcome.summary["booster_videos_rate"],
            "stages_s": {
                k.removeprefix("seconds_"): v
                for k, v in metrics.items()
                if k.startswith("seconds_")
            },
            "best_iteration": metrics["best_iteration"],
            "test": {k: metrics[f"test_{k}"] for k in ("roc_auc", "log_loss", "ece")},
        }
    result["seconds"] = round(time.perf_counter() - started, 2)
    shutil.rmtree(settings.home, ignore_errors=True)
    out.write_text(json.dumps(result))


def run_child(mode: str, data: Path, negative_rate: float) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        seconds, peaks = measured(
            [sys.executable, "-m", "bench.bench_training_scale", "--child", mode,
             "--data", str(data), "--out", out.name, "--negative-rate", str(negative_rate)]
        )  # fmt: skip
        result = json.loads(Path(out.name).read_text())
    return {**result, "wall_s": round(seconds, 1), "peak_gb": peaks}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--part-videos", type=int, default=500_000)
    parser.add_argument("--negative-rate", type=float, default=0.1)
    parser.add_argument("--quick", action="store_true", help="A smoke run: not the targets.")
    parser.add_argument("--child", choices=["local-features", "dask-train"])
    parser.add_argument("--data", type=Path)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.data, args.out, args.negative_rate)
        return 0

    CACHE.mkdir(parents=True, exist_ok=True)
    runs: dict[str, Any] = {}
    for videos in args.sizes:
        data, made = simulated(videos, args.part_videos)
        print(f"{videos:,} videos: data ready {made}", flush=True)
        runs[str(videos)] = {
            "simulate": made,
            "dask": run_child("dask-train", data, args.negative_rate),
        }
        print(json.dumps(runs[str(videos)]["dask"]), flush=True)
    small, large = str(min(args.sizes)), str(max(args.sizes))
    anchor_data, _ = simulated(min(args.sizes), args.part_videos)
    anchor = run_child("local-features", anchor_data, args.negative_rate)
    dask_small = runs[small]["dask"]
    feature_s = sum(dask_small["stages_s"][s] for s in ("examples", "spec", "features"))
    peak = {size: max(run["dask"]["peak_gb"].values()) for size, run in runs.items()}
    result = {
        "negative_rate": args.negative_rate,
        "part_videos": args.part_videos,
        "runs": runs,
        "local_features": anchor,
        "dask_features_per_s": round(dask_small["examples"] / feature_s),
        "local_features_per_s": round(anchor["examples"] / anchor["seconds"]),
        "peak_process_gb": peak[large],
        "wall_minutes": round(runs[large]["dask"]["wall_s"] / 60, 1),
        "peak_ratio_10m_to_1m": round(peak[large] / peak[small], 2),
        "targets": TARGETS,
    }
    result["dask_feature_throughput_ratio"] = round(
        result["dask_features_per_s"] / result["local_features_per_s"], 2
    )
    result["meets_targets"] = (
        result["peak_process_gb"] < TARGETS["peak_process_gb"]
        and result["wall_minutes"] < TARGETS["wall_minutes"]
        and result["peak_ratio_10m_to_1m"] <= TARGETS["peak_ratio_10m_to_1m"]
        and result["dask_feature_throughput_ratio"] >= TARGETS["dask_feature_throughput_ratio"]
    )
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    write_result("training_scale", result, quick=args.quick)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
