"""Simulator: videos per second and peak memory at 1M videos (target < 2 min, < 4 GB).

Anchor, in the same run: drawing as many binomial variates as the simulator draws counts
(videos x rounds x counters) and summing them per snapshot with plain numpy. No vectorized
simulator of this shape can be cheaper than its random numbers.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np

from bench.common import peak_rss_mb, timed, write_result
from features.simulation.config import SimConfig
from features.simulation.facts import COUNTERS, ROUNDS
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from likecast.memory import keep_freed_memory


def anchor(videos: int, snapshots_per_video: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    rounds = ROUNDS + 2
    for _ in COUNTERS:
        draws = rng.binomial(1000, 0.02, (videos, rounds))
        np.cumsum(np.repeat(draws[:, :1], snapshots_per_video, axis=1), axis=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=1_000_000, help="videos to simulate")
    parser.add_argument("--quick", action="store_true", help="20k videos")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the likecast command's own process does
    videos = 20_000 if args.quick else args.videos
    times: dict[str, float] = {}
    with timed(times, "simulate_s"):
        platform = simulate(SimConfig(videos=videos, seed=7))
    with tempfile.TemporaryDirectory() as tmp, timed(times, "write_parquet_s"):
        write_platform(platform, Path(tmp))
    rows = platform.snapshots.num_rows
    peak = peak_rss_mb()
    with timed(times, "anchor_numpy_draws_s"):
        anchor(videos, rows // videos, 7)
    total = times["simulate_s"] + times["write_parquet_s"]
    write_result(
        "simulator",
        {
            "videos": videos,
            "snapshot_rows": rows,
            **times,
            "total_s": round(total, 3),
            "videos_per_s": round(videos / total),
            "peak_rss_mb": peak,
            "hit_share": round(
                float(
                    np.mean(
                        platform.snapshots.to_pandas().query("age_minutes == 10080")["likes"]
                        >= 1000
                    )
                ),
                4,
            ),
            "ratio_simulate_to_anchor": round(
                times["simulate_s"] / times["anchor_numpy_draws_s"], 2
            ),
            "targets": {"total_s": 120, "peak_rss_mb": 4096},
            "meets_targets": total < 120 and peak < 4096,
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
