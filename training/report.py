"""Plots and an HTML report of a training run, so a person can judge it in the MLflow UI."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import precision_recall_curve, roc_curve

from training.metrics import (
    GAP_MIN_ROWS,
    age_bucket,
    baseline_beats,
    calibration_bins,
    describe_beats,
)
from training.train import BASELINES, TrainOutcome

MODELS = ("lightgbm", *BASELINES)
# enough rows to rank features by mean |SHAP|; each row costs milliseconds (docs/adr/0033)
SHAP_ROWS = 1000


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def roc_pr(outcome: TrainOutcome, folder: Path) -> Path:
    """ROC and precision-recall curves of LightGBM and the baselines on the test slice."""
    y = outcome.test_predictions["y"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name in MODELS:
        p = outcome.test_predictions[name]
        fpr, tpr, _ = roc_curve(y, p)
        precision, recall, _ = precision_recall_curve(y, p)
        auc = float(outcome.tables[name]["roc_auc"]["all"])
        left.plot(fpr, tpr, label=f"{name} (AUC {auc:.3f})")
        right.plot(recall, precision, label=name)
    left.plot([0, 1], [0, 1], "k:", lw=0.8)
    left.set(xlabel="false positive rate", ylabel="true positive rate", title="ROC, test")
    right.set(xlabel="recall", ylabel="precision", title="Precision-recall, test")
    left.legend(fontsize=8)
    right.legend(fontsize=8)
    return _save(fig, folder / "roc_pr.png")


def reliability(outcome: TrainOutcome, folder: Path, bins: int = 15) -> Path:
    """Observed hit rate against predicted probability, with the predictions' histogram."""
    y, p = outcome.test_predictions["y"], outcome.test_predictions["lightgbm"]
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    frame = (
        pd.DataFrame({"bin": which, "y": y, "p": p})
        .groupby("bin")
        .agg(observed=("y", "mean"), predicted=("p", "mean"), n=("y", "size"))
    )
    gap = float(outcome.tables["lightgbm"]["calibration_gap"]["all"])
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6, 6.5), height_ratios=[3, 1], sharex=True)
    top.plot([0, 1], [0, 1], "k:", lw=0.8)
    top.plot(frame["predicted"], frame["observed"], "o-")
    top.set(
        ylabel="observed hit rate",
        title=f"Reliability, test (ECE {outcome.metrics['test_ece']:.4f}, "
        f"calibration gap {gap:.4f})",
    )
    bottom.hist(p, bins=edges, log=True)
    bottom.set(xlabel="predicted probability", ylabel="rows")
    return _save(fig, folder / "reliability.png")


def reliability_bins(outcome: TrainOutcome) -> dict[str, pd.DataFrame]:
    """LightGBM's calibration bins at each age bucket of the test slice (rows, observed rate,
    mean prediction, and whether the bin counts for the calibration gap)."""
    y, p = outcome.test_predictions["y"], outcome.test_predictions["lightgbm"]
    buckets = age_bucket(outcome.test_predictions["age_minutes"], outcome.bundle.spec.ages)
    out = {}
    for age in np.unique(buckets):
        inside = buckets == age
        rows, hits, predicted = calibration_bins(y[inside], p[inside])
        used = rows > 0
        out[f"{float(age):g}"] = pd.DataFrame(
            {
                "rows": rows[used],
                "observed": hits[used] / rows[used],
                "predicted": predicted[used] / rows[used],
                "counted": rows[used] >= GAP_MIN_ROWS,
            }
        )
    return out


def reliability_by_age(outcome: TrainOutcome, folder: Path, columns: int = 4) -> Path:
    """One reliability panel per age bucket, each bin labelled with its rows: a bucket whose
    few confident rows are far off shows here, where the overall curve averages it away.

    Filled points are bins of at least ``GAP_MIN_ROWS`` rows, the ones the calibration gap
    in each panel's title is taken over.
    """
    panels = reliability_bins(outcome)
    gaps = outcome.tables["lightgbm"]["calibration_gap"].to_dict()
    grid_rows = -(-len(panels) // columns)
    fig, axes = plt.subplots(
        grid_rows, columns, figsize=(3.2 * columns, 3.0 * grid_rows), squeeze=False
    )
    for ax, (age, bins) in zip(axes.flat, panels.items(), strict=False):
        gap = float(gaps[age])
        ax.plot([0, 1], [0, 1], "k:", lw=0.8)
        ax.plot(bins["predicted"], bins["observed"], "-", color="C0", lw=0.8)
        for counted, style in ((True, "C0"), (False, "none")):
            chosen = bins[bins["counted"] == counted]
            ax.scatter(chosen["predicted"], chosen["observed"], facecolors=style, edgecolors="C0")
        for rows, x, y in zip(bins["rows"], bins["predicted"], bins["observed"], strict=True):
            ax.annotate(f"{rows:.0f}", (x, y), fontsize=6)
        shown = "-" if gap != gap else f"{gap:.3f}"
        ax.set_title(f"{age} min: gap {shown}, {bins['rows'].sum():.0f} rows", fontsize=8)
        ax.set(xlim=(0, 1), ylim=(0, 1))
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(panels) :]:
        ax.set_visible(False)
    fig.supxlabel("predicted probability")
    fig.supylabel("observed hit rate")
    return _save(fig, folder / "reliability_by_age.png")


def auc_by_age(outcome: TrainOutcome, folder: Path) -> Path:
    """Test ROC AUC of each model at each prediction age."""
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name in MODELS:
        table = outcome.tables[name].drop(index="all")
        ages = table.index.astype(float)
        ax.plot(np.maximum(ages, 1), table["roc_auc"], "o-", label=name)
    ax.set_xscale("log")
    ax.set(
        xlabel="prediction age, minutes (draft shown at 1)",
        ylabel="ROC AUC",
        title="AUC by prediction age, test",
    )
    ax.legend(fontsize=8)
    return _save(fig, folder / "auc_by_age.png")


def importance(outcome: TrainOutcome, folder: Path, top: int = 20) -> Path:
    """The ``top`` features by total split gain."""
    booster = outcome.bundle.booster
    gain = pd.Series(booster.feature_importance("gain"), index=booster.feature_name())
    gain = gain.sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh(gain.index, gain.to_numpy())
    ax.set(xlabel="total gain", title="Feature importance (gain)")
    return _save(fig, folder / "importance_gain.png")


def shap_summary(outcome: TrainOutcome, folder: Path, seed: int, top: int = 20) -> Path:
    """The ``top`` features by mean absolute SHAP value on a seeded sample of test rows."""
    features = outcome.test_features
    if len(features) > SHAP_ROWS:
        features = features.sample(SHAP_ROWS, random_state=seed)
    contrib = outcome.bundle.contributions(features).drop(columns="_base")
    mean_abs = contrib.abs().mean().sort_values().tail(top)
    fig, ax = plt.subplots(figsize=(7, 6))
    ax.barh(mean_abs.index, mean_abs.to_numpy())
    ax.set(xlabel="mean |SHAP value| (log-odds)", title=f"SHAP summary, {len(features)} test rows")
    return _save(fig, folder / "shap_summary.png")


def plots(outcome: TrainOutcome, folder: Path, seed: int) -> list[Path]:
    """Every plot of a run as PNG files in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    return [
        roc_pr(outcome, folder),
        reliability(outcome, folder),
        reliability_by_age(outcome, folder),
        auc_by_age(outcome, folder),
        importance(outcome, folder),
        shap_summary(outcome, folder, seed),
    ]


def html_report(outcome: TrainOutcome, fingerprint: dict[str, Any], images: list[Path]) -> str:
    """The run at a glance, self-contained (images inlined) so the MLflow UI shows it whole."""
    lgb = outcome.tables["lightgbm"]
    overall = lgb.loc["all"].astype(float)
    auc = pd.DataFrame({m: outcome.tables[m]["roc_auc"] for m in MODELS}).round(4)
    data = pd.Series(fingerprint, name="value").to_frame()
    beaten = describe_beats(baseline_beats(outcome.tables)) or "no baseline beats LightGBM"
    pictures = "".join(
        f'<figure><img alt="{p.stem}" src="data:image/png;base64,'
        f'{base64.b64encode(p.read_bytes()).decode()}"><figcaption>{p.stem}</figcaption></figure>'
        for p in images
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>likecast run</title>
<style>body{{font-family:sans-serif;max-width:60em;margin:auto}}table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px;text-align:right}}img{{max-width:100%}}</style>
</head><body><h1>likecast training run</h1>
<p>Test ROC AUC <b>{overall["roc_auc"]:.4f}</b>, log loss {overall["log_loss"]:.4f},
ECE {overall["ece"]:.4f}, calibration gap {overall["calibration_gap"]:.4f};
calibration {outcome.bundle.calibrator.method}; {outcome.bundle.booster.num_trees()} trees.</p>
<p>Baselines: {beaten}.</p>
<h2>Test ROC AUC by prediction age: LightGBM and the baselines</h2>{auc.to_html()}
<h2>LightGBM metrics by age</h2>{lgb.round(4).to_html()}
<h2>Data</h2>{data.to_html()}
<h2>Plots</h2>{pictures}</body></html>
"""
