"""The metrics every run, evaluation and promotion reports, overall and per age bucket."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "positive_rate", "n")


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(y[inside].mean() - p[inside].mean())
    return float(total / len(y))


def score(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    both = len(np.unique(y)) == 2
    return {
        "roc_auc": float(roc_auc_score(y, p)) if both else float("nan"),
        "pr_auc": float(average_precision_score(y, p)) if both else float("nan"),
        "log_loss": float(log_loss(y, np.clip(p, 1e-6, 1 - 1e-6), labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": expected_calibration_error(y, p),
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
