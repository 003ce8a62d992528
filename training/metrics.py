"""The metrics every run, evaluation and promotion reports, overall and per age bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd

METRICS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    "calibration_gap",
    "positive_rate",
    "n",
)
# the calibration gap counts only bins this full: fewer rows are mostly sampling noise
GAP_MIN_ROWS = 100


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    # per bin, count * |mean(y) - mean(p)| = |sum(y) - sum(p)|
    gaps = np.bincount(which, weights=y, minlength=bins) - np.bincount(
        which, weights=p, minlength=bins
    )
    return float(np.abs(gaps).sum() / len(y))


def calibration_gap(
    y: np.ndarray, p: np.ndarray, min_rows: int = GAP_MIN_ROWS, bins: int = 10
) -> float:
    """The largest |observed rate - mean prediction| over equal-width bins of ``min_rows``
    rows or more; NaN when no bin is that full.

    ECE averages over rows, so the many rows near zero can hide a bin that is far off; this
    figure cannot be hidden that way.
    """
    which = np.clip((np.asarray(p) * bins).astype(int), 0, bins - 1)
    counts = np.bincount(which, minlength=bins)
    gaps = np.bincount(which, weights=y, minlength=bins) - np.bincount(
        which, weights=p, minlength=bins
    )
    full = counts >= min_rows
    return float(np.max(np.abs(gaps[full]) / counts[full])) if full.any() else float("nan")


def ranking_scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision (PR AUC) from one sort, ties treated as scikit-learn
    treats them (tests compare the two).

    A run scores four models at every age bucket, so one sort for both metrics instead of
    scikit-learn's checks and two sorts per metric (docs/decisions.md, "metrics").
    """
    if len(y) == 0:
        return float("nan"), float("nan")
    order = np.argsort(-p)  # tied scores are summed per threshold below: their order is moot
    scores, hits = p[order], y[order]
    threshold_ends = np.flatnonzero(np.r_[scores[1:] != scores[:-1], True])
    tps = np.cumsum(hits)[threshold_ends]  # true positives at each distinct threshold
    fps = threshold_ends + 1 - tps
    if tps[-1] == 0 or fps[-1] == 0:
        return float("nan"), float("nan")
    tpr, fpr = np.r_[0.0, tps / tps[-1]], np.r_[0.0, fps / fps[-1]]
    roc_auc = float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))
    average_precision = float(np.sum(np.diff(tpr) * tps / (tps + fps)))
    return roc_auc, average_precision


def score(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """Every metric in ``METRICS`` of probabilities ``p`` against 0/1 labels ``y``."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    roc_auc, pr_auc = ranking_scores(y, p)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    return {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": float(-np.mean(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(y, p),
        "calibration_gap": calibration_gap(y, p),
        "positive_rate": float(y.mean()),
        "n": float(len(y)),
    }


def age_bucket(ages: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """The grid age at or below each age: 45 minutes falls in the 30-minute bucket."""
    grid_arr = np.array(sorted(grid))
    idx = np.clip(np.searchsorted(grid_arr, ages, side="right") - 1, 0, len(grid_arr) - 1)
    return grid_arr[idx]


def score_by_age(
    y: np.ndarray, p: np.ndarray, ages: np.ndarray, grid: tuple[float, ...]
) -> pd.DataFrame:
    """One row per age bucket plus 'all'."""
    buckets = age_bucket(np.asarray(ages, dtype=float), grid)
    rows = {"all": score(y, p)}
    for age in sorted(np.unique(buckets)):
        inside = buckets == age
        rows[f"{age:g}"] = score(y[inside], p[inside])
    return pd.DataFrame(rows).T.rename_axis("age_minutes")


def flatten(table: pd.DataFrame, prefix: str) -> dict[str, float]:
    """MLflow metric names: ``{prefix}_{metric}`` overall, ``{prefix}_{metric}_age_{a}``."""
    out = {}
    for age, row in table.iterrows():
        suffix = "" if age == "all" else f"_age_{age}"
        for metric, value in row.items():
            if metric != "n" and np.isfinite(value):
                out[f"{prefix}_{metric}{suffix}"] = float(value)
    return out
