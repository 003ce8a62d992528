"""Feature pipeline: examples per second for 1M videos x the default ages, on 2 cores.

Targets: at least 500k examples/s, and within 3x of the raw cost of reading the inputs.
Anchors, in the same run:
- the raw read: the two Parquet tables into pandas with pyarrow, nothing else;
- a plain-pandas reference of the same logic written the obvious way (merge_asof per age,
  a Python loop over each creator's videos for history), timed on a sample because it is
  slow, and checked to give the same values as the pipeline on that sample.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from bench.common import CACHE, peak_rss_mb, timed, write_result
from features.examples import grid_examples, grid_rows, video_rows
from features.labels import label_videos
from features.loading import load_dataset
from features.matrix import build_grid_features
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from features.spec import SPEC_COLUMNS, fit_spec
from likecast.memory import keep_freed_memory
from likecast.settings import FIRST_DAY_AGES_MINUTES, Settings

THRESHOLD, HORIZON, WINDOW = 1000, 7 * 24 * 60.0, 30
THREADS = Settings().feature_threads


def data(videos: int) -> Path:
    folder = CACHE / f"sim-{videos}-seed7"
    if not (folder / "snapshots.parquet").exists():
        write_platform(simulate(SimConfig(videos=videos, seed=7)), folder)
    return folder


def pipeline(videos: pd.DataFrame, snapshots: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    times: dict[str, float] = {}
    with timed(times, "labels_s"):
        labels = label_videos(videos, snapshots, THRESHOLD, HORIZON)
    with timed(times, "history_s"):
        per_video = video_rows(videos, labels, THRESHOLD, HORIZON, WINDOW)
    labeled = labels["labeled"].to_numpy()
    with timed(times, "observations_s"):
        grid = grid_examples(
            per_video[labeled], snapshots, FIRST_DAY_AGES_MINUTES, HORIZON, THREADS
        )
    final = pd.Series(
        np.repeat(labels["likes_at_horizon"].to_numpy()[labeled], len(FIRST_DAY_AGES_MINUTES)),
        index=grid.observed.index,
    )
    with timed(times, "spec_s"):
        spec = fit_spec(
            grid.rows(columns=SPEC_COLUMNS),
            final,
            THRESHOLD,
            HORIZON,
            "Asia/Shanghai",
            FIRST_DAY_AGES_MINUTES,
        )
    with timed(times, "build_features_s"):
        features = build_grid_features(grid, spec, THREADS)
    return features.assign(video_id=grid.per_example("video_id")), times


def reference(videos: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    """The same observations and history, the way one would first write them in pandas."""
    labels = label_videos(videos, snapshots, THRESHOLD, HORIZON)
    v = videos.merge(labels, on="video_id")
    v["closes_at"] = v["posted_at"] + pd.Timedelta(minutes=HORIZON)
    records: list[dict] = []
    for _, group in v.groupby("creator_id", observed=True):
        for _, video in group.iterrows():
            known = group[(group["closes_at"] <= video["posted_at"]) & group["labeled"]]
            recent = known.sort_values("closes_at").tail(WINDOW)["likes_at_horizon"]
            records.append(
                {
                    "video_id": video["video_id"],
                    "hist_videos": float(len(known)),
                    "hist_median_likes": recent.median() if len(recent) else np.nan,
                }
            )
    history = pd.DataFrame(records)
    snaps = snapshots[snapshots["age_minutes"] > 0].assign(obs_age=snapshots["age_minutes"])
    snaps = snaps.assign(video_id=snaps["video_id"].astype(str)).sort_values("age_minutes")
    labeled = v[v["labeled"]].assign(video_id=lambda f: f["video_id"].astype(str))
    parts = []
    for age in FIRST_DAY_AGES_MINUTES:
        query = labeled[["video_id"]].assign(age_minutes=float(age))
        parts.append(
            pd.merge_asof(
                query,
                snaps[["video_id", "age_minutes", "obs_age", "likes"]],
                on="age_minutes",
                by="video_id",
            )
        )
    history["video_id"] = history["video_id"].astype(str)
    observed = pd.concat(parts).merge(history, on="video_id")
    return observed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=1_000_000, help="videos in the data")
    parser.add_argument(
        "--reference-videos",
        type=int,
        default=20_000,
        help="videos the slow plain-pandas reference runs on",
    )
    parser.add_argument("--quick", action="store_true", help="50k videos, 5k for the reference")
    args = parser.parse_args(argv)
    keep_freed_memory()  # as the likecast command's own process does
    n = 50_000 if args.quick else args.videos
    n_ref = 5_000 if args.quick else args.reference_videos
    folder = data(n)

    times: dict[str, float] = {}
    with timed(times, "raw_read_s"):
        raw_videos = pq.read_table(folder / "videos.parquet").to_pandas()
        raw_snaps = pq.read_table(folder / "snapshots.parquet").to_pandas()
    del raw_videos, raw_snaps
    with timed(times, "load_and_validate_s"):
        dataset = load_dataset(folder)
    with timed(times, "features_total_s"):
        features, parts = pipeline(dataset.videos, dataset.snapshots)
    examples = len(features)
    peak = peak_rss_mb()

    # the reference, and ours, on the same sample of creators
    creators = (
        dataset.videos["creator_id"].drop_duplicates().sample(frac=1, random_state=0).to_numpy()
    )
    chosen = set(creators[: max(1, int(len(creators) * n_ref / n))])
    sample_v = dataset.videos[dataset.videos["creator_id"].isin(chosen)].reset_index(drop=True)
    sample_s = dataset.snapshots[dataset.snapshots["video_id"].isin(set(sample_v["video_id"]))]
    with timed(times, "reference_sample_s"):
        ref = reference(sample_v, sample_s)
    with timed(times, "ours_sample_s"):
        ours, _ = pipeline(sample_v, sample_s)
    agree = _agree(ref, ours, sample_v, sample_s)

    rate = examples / times["features_total_s"]
    write_result(
        "features",
        {
            "videos": n,
            "examples": examples,
            **times,
            **{f"part_{k}": v for k, v in parts.items()},
            "examples_per_s": round(rate),
            "ratio_features_to_raw_read": round(times["features_total_s"] / times["raw_read_s"], 2),
            "reference_videos": len(sample_v),
            "reference_examples": len(ref),
            "speedup_over_reference": round(
                times["reference_sample_s"] / times["ours_sample_s"], 1
            ),
            "reference_agrees": agree,
            "peak_rss_mb": peak,
            "targets": {"examples_per_s": 500_000, "ratio_features_to_raw_read": 3.0},
            "meets_targets": rate >= 500_000
            and times["features_total_s"] <= 3 * times["raw_read_s"],
        },
        quick=args.quick,
    )
    return 0


def _agree(ref: pd.DataFrame, ours: pd.DataFrame, videos, snapshots) -> bool:
    """Same likes observed and same history count, example by example."""
    labels = label_videos(videos, snapshots, THRESHOLD, HORIZON)
    per_video = video_rows(videos, labels, THRESHOLD, HORIZON, WINDOW)
    rows = grid_rows(
        per_video[labels["labeled"].to_numpy()], snapshots, FIRST_DAY_AGES_MINUTES, HORIZON
    )
    left = rows[["video_id", "age_minutes", "likes", "hist_videos", "hist_median_likes"]]
    left = left.assign(video_id=left["video_id"].astype(str))
    right = ref[["video_id", "age_minutes", "likes", "hist_videos", "hist_median_likes"]]
    merged = left.merge(right, on=["video_id", "age_minutes"], suffixes=("", "_ref"))
    if len(merged) != len(left):
        return False
    return all(
        np.allclose(merged[c].astype(float), merged[f"{c}_ref"].astype(float), equal_nan=True)
        for c in ("likes", "hist_videos", "hist_median_likes")
    )


if __name__ == "__main__":
    raise SystemExit(main())
