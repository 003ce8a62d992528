"""Outcomes: the logged answers against what the videos did, once their horizons have passed.

The log's answers are joined to a data set in the training contract by ``video_id`` and
labeled by training's own rule (``features.labels``), with the data's last moment as its
end: a video whose horizon comes after it is not labeled yet, and one the counts cannot
decide stays unlabeled; both are counted, never guessed. The realized figures sit beside
those the version had on its test slice, and beside the label-free estimate of the same
answers (``training.monitor.estimate``), so the estimate is checked where labels exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from features.labels import label_videos
from training.metrics import BEAT_MIN_CLASS_ROWS, BEAT_MIN_ROWS, bin_index, score
from training.monitor.estimate import (
    GROUP,
    LEVEL,
    Ranking,
    bucket_labels,
    estimate_group,
    number,
    shared_draws,
)
from training.monitor.versions import VersionFigures

BOOTSTRAPS = 200  # resamples of the videos behind a realized AUC, for its interval

# what happened to the logged answers on the way to a label, in this order
STAGES = {
    "answers": "answers in the window",
    "no_video_id": "without a video_id: cannot be joined",
    "unknown_video": "naming a video the data does not hold",
    "decided": "decided by the counts when given (not the model's answer)",
    "pending": "horizon not passed by the data's last moment",
    "undecided": "horizon passed, but the counts cannot decide the label",
    "labeled": "labeled",
}


@dataclass(frozen=True)
class Joined:
    """The labeled model answers (``label`` added), and how many answers fell at each stage."""

    labeled: pd.DataFrame
    counts: dict[str, int]
    data_end: pd.Timestamp


def join_outcomes(
    answers: pd.DataFrame, videos: pd.DataFrame, snapshots: pd.DataFrame, data_end: pd.Timestamp
) -> Joined:
    """Label each logged answer by its video's outcome, for its own target.

    ``answers`` is ``read_log``'s frame; ``videos`` and ``snapshots`` are loaded tables;
    ``data_end`` the data's last moment (``features.store.data_end``).
    """
    counts = dict.fromkeys(STAGES, 0)
    counts["answers"] = len(answers)
    named = answers["video_id"].notna() & (answers["video_id"].astype(str) != "")
    counts["no_video_id"] = int((~named).sum())
    ids = answers["video_id"].where(named).astype(object)
    known = named & ids.isin(set(videos["video_id"].astype(str)))
    counts["unknown_video"] = int((named & ~known).sum())
    decided = answers["decided"].astype(bool)
    counts["decided"] = int((known & decided).sum())
    open_ = answers[known & ~decided].assign(video_id=ids[known & ~decided].astype(str))
    parts = []
    for key, group in open_.groupby(["threshold", "horizon_days"]):
        threshold, horizon_days = cast(tuple[int, float], key)
        labels = _labels(group, videos, snapshots, int(threshold), float(horizon_days), data_end)
        parts.append(group.join(labels, on="video_id"))
    joined = pd.concat(parts) if parts else open_.assign(label=np.nan, pending=False)
    counts["pending"] = int(joined["pending"].sum())
    unlabeled = joined["label"].isna() & ~joined["pending"]
    counts["undecided"] = int(unlabeled.sum())
    labeled = joined[joined["label"].notna()].drop(columns="pending")
    counts["labeled"] = len(labeled)
    return Joined(labeled.sort_values("logged_at", kind="stable"), counts, data_end)


def _labels(
    answers: pd.DataFrame,
    videos: pd.DataFrame,
    snapshots: pd.DataFrame,
    threshold: int,
    horizon_days: float,
    data_end: pd.Timestamp,
) -> pd.DataFrame:
    """Per video of ``answers``: its label (NaN where none yet) and whether its horizon is
    still to come (``pending``)."""
    wanted = set(answers["video_id"])
    mine = videos[videos["video_id"].astype(str).isin(wanted)]
    snaps = snapshots[snapshots["video_id"].astype(str).isin(wanted)]
    horizon = horizon_days * 1440
    labels = label_videos(mine, snaps, threshold, horizon, observed_until=data_end)
    pending = (mine["posted_at"] + pd.Timedelta(minutes=horizon) > data_end).to_numpy()
    return pd.DataFrame(
        {"label": np.where(pending, np.nan, labels["label"].to_numpy()), "pending": pending},
        index=pd.Index(mine["video_id"].astype(str).to_numpy(), name="video_id"),
    )


def bootstrap_auc(
    y: np.ndarray, p: np.ndarray, codes: np.ndarray, seed: int, draws: int = BOOTSTRAPS
) -> tuple[float, float]:
    """The ``LEVEL`` interval of ROC AUC over resamples of the videos (all of a video's
    answers go together: they share one outcome); NaN when no resample holds both classes."""
    rng = np.random.default_rng(seed)
    videos = int(codes.max()) + 1 if len(codes) else 0
    ranking = Ranking(p)
    aucs = np.full(draws, np.nan)
    for k in range(draws):
        times = np.bincount(rng.integers(0, videos, videos), minlength=videos)[codes] * 1.0
        aucs[k] = ranking.auc(times * y, times * (1 - y))
    if not np.isfinite(aucs).any():
        return float("nan"), float("nan")
    tail = (1 - LEVEL) / 2
    low, high = np.nanquantile(aucs, [tail, 1 - tail])
    return float(low), float(high)


def coverage(y: np.ndarray, p: np.ndarray, low: np.ndarray, high: np.ndarray) -> float:
    """Share of equal-mass bins whose realized hit rate lies inside the bin's mean interval.

    The interval is for the hit rate among similar videos, not for one video's 0 or 1, so
    it is judged where a hit rate exists: a bin of answers alike in probability. NaN when
    the answers carry no interval (bundles saved before intervals).
    """
    if not len(p) or np.isnan(low).all() or np.isnan(high).all():
        return float("nan")
    which, size = bin_index(p)
    rows = np.bincount(which, minlength=size)
    filled = rows > 0
    rate = np.bincount(which, weights=y, minlength=size)[filled] / rows[filled]
    mean_low = np.bincount(which, weights=low, minlength=size)[filled] / rows[filled]
    mean_high = np.bincount(which, weights=high, minlength=size)[filled] / rows[filled]
    return float(np.mean((mean_low <= rate) & (rate <= mean_high)))


def realized_group(frame: pd.DataFrame, seed: int) -> dict[str, float]:
    """The realized figures of one set of labeled answers."""
    y = frame["label"].to_numpy(dtype="float64")
    p = frame["probability"].to_numpy(dtype="float64")
    figures = score(y, p)
    low, high = bootstrap_auc(y, p, shared_draws(frame["video_id"].to_numpy()), seed)
    return {
        "n": float(len(y)),
        "positive_rate": figures["positive_rate"],
        "roc_auc": figures["roc_auc"],
        "roc_auc_low": low,
        "roc_auc_high": high,
        "log_loss": figures["log_loss"],
        "calibration_gap": figures["calibration_gap"],
        "coverage": coverage(
            y, p, frame["low"].to_numpy(dtype="float64"), frame["high"].to_numpy(dtype="float64")
        ),
    }


def outcome_table(
    labeled: pd.DataFrame, figures: dict[str, VersionFigures], seed: int
) -> pd.DataFrame:
    """One row per (version, target, age bucket) and per (version, target) "all": realized
    figures, the test slice's, the label-free estimate of the same answers, and the alert."""
    rows = []
    for key, group in labeled.groupby(GROUP, sort=True):
        version, threshold, horizon = cast(tuple[str, int, float], key)
        known = figures[str(version)]
        buckets = bucket_labels(group["age_minutes"].to_numpy(), known.grid)
        for bucket in ["all", *sorted(set(buckets), key=float)]:
            inside = group if bucket == "all" else group[buckets == bucket]
            realized = realized_group(inside, seed)
            test = known.test.get(bucket, {})
            guess = estimate_group(
                inside["probability"].to_numpy(), inside["video_id"].to_numpy(), seed
            )
            row = {
                "model_version": str(version),
                "threshold": int(threshold),
                "horizon_days": float(horizon),
                "age_bucket": bucket,
                **realized,
                **{f"test_{name}": number(value) for name, value in test.items()},
                "estimated_auc": guess["expected_auc"],
                "estimated_auc_low": guess["auc_low"],
                "estimated_auc_high": guess["auc_high"],
            }
            row["alert"] = bucket != "all" and below_test(row)
            rows.append(row)
    return pd.DataFrame(rows)


def below_test(row: dict) -> bool:
    """Is the realized AUC below the test AUC by more than its noise: the upper end of its
    bootstrap interval under the test figure, at a bucket holding enough of each class?"""
    test = row.get("test_roc_auc", float("nan"))
    hits = round(row["n"] * row["positive_rate"]) if row["n"] else 0
    enough = row["n"] >= BEAT_MIN_ROWS and min(hits, row["n"] - hits) >= BEAT_MIN_CLASS_ROWS
    return bool(enough and np.isfinite(test) and row["roc_auc_high"] < test)
