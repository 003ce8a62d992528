"""The monitoring plots, as PNG files: reliability of realized answers, and AUC per age bucket
realized against the test slice's and the label-free estimate."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from training.metrics import bin_index, calibration_bins


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def reliability(labeled: pd.DataFrame, version: str, path: Path) -> Path:
    """Realized hit rate against the mean answer in equal-mass bins (the calibration gap's
    bins), with the bins' mean interval: a calibrated model's points lie on the diagonal."""
    y = labeled["label"].to_numpy(dtype="float64")
    p = labeled["probability"].to_numpy(dtype="float64")
    counts, hits, predicted = calibration_bins(y, p)
    which, size = bin_index(p)
    filled = counts > 0
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="calibrated")
    mean_p, rate = predicted[filled] / counts[filled], hits[filled] / counts[filled]
    for side in ("low", "high"):
        summed = np.bincount(which, weights=labeled[side].to_numpy(dtype="float64"), minlength=size)
        ax.plot(
            mean_p,
            summed[filled] / counts[filled],
            color="tab:blue",
            linestyle="--",
            linewidth=0.8,
            label="mean 80% interval" if side == "low" else None,
        )
    ax.plot(mean_p, rate, marker="o", label="realized")
    edges = np.sort(mean_p)
    ax.set_xlim(0, max(0.05, float(edges.max()) * 1.1) if len(edges) else 1)
    ax.set_ylim(0, max(0.05, float(max(rate.max(), edges.max())) * 1.1) if len(edges) else 1)
    ax.set_xlabel("mean answer in the bin")
    ax.set_ylabel("share that reached the threshold")
    ax.set_title(f"version {version}: reliability ({len(y):,} labeled answers)")
    ax.legend()
    return _save(fig, path)


def auc_by_bucket(table: pd.DataFrame, version: str, path: Path) -> Path:
    """ROC AUC per age bucket: realized (with its bootstrap interval), the test slice's, and
    the label-free estimate (with its simulated interval)."""
    rows = table[(table["model_version"] == version) & (table["age_bucket"] != "all")]
    x = np.arange(len(rows))
    fig, ax = plt.subplots(figsize=(7, 4))
    realized = rows["roc_auc"].to_numpy()
    ax.errorbar(
        x - 0.1,
        realized,
        yerr=_spread(realized, rows["roc_auc_low"], rows["roc_auc_high"]),
        fmt="o",
        label="realized (90% bootstrap)",
    )
    estimated = rows["estimated_auc"].to_numpy()
    ax.errorbar(
        x + 0.1,
        estimated,
        yerr=_spread(estimated, rows["estimated_auc_low"], rows["estimated_auc_high"]),
        fmt="s",
        label="estimated without labels (90%)",
    )
    if "test_roc_auc" in rows:
        ax.plot(x, rows["test_roc_auc"], "k_", markersize=18, label="test slice")
    ax.set_xticks(x, list(rows["age_bucket"]), rotation=45)
    ax.set_xlabel("age bucket (minutes)")
    ax.set_ylabel("ROC AUC")
    ax.set_title(f"version {version}: ROC AUC by age")
    ax.legend(fontsize="small")
    return _save(fig, path)


def _spread(centre: np.ndarray, low: pd.Series, high: pd.Series) -> np.ndarray:
    """Error bars from an interval; a figure outside its own interval (a bootstrap's
    quantiles need not hold the full sample's value) gets none on that side."""
    below = np.nan_to_num(centre - low.to_numpy(dtype="float64"), nan=0.0)
    above = np.nan_to_num(high.to_numpy(dtype="float64") - centre, nan=0.0)
    return np.clip(np.vstack([below, above]), 0.0, None)


def outcome_plots(labeled: pd.DataFrame, table: pd.DataFrame, folder: Path) -> list[Path]:
    """Both plots for every version in the table, written into ``folder``."""
    paths = []
    for version in sorted(table["model_version"].unique()):
        mine = labeled[labeled["model_version"].astype(str) == version]
        paths.append(reliability(mine, version, folder / f"reliability_v{version}.png"))
        paths.append(auc_by_bucket(table, version, folder / f"auc_by_age_v{version}.png"))
    return paths
