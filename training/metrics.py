"""The metrics every run, evaluation and promotion reports, overall and per age bucket."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.spec import age_bucket

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
# the calibration gap is taken over equal-mass bins of at least this many rows (fewer are
# mostly sampling noise), at most GAP_BINS of them
GAP_MIN_ROWS = 100
GAP_BINS = 10
# `likecast train` warns (and tags the run) when the overall test gap exceeds this
GAP_WARN = 0.05

# When a baseline beats LightGBM at an age bucket (docs/adr/0024): only at buckets this
# full, by more than these margins.
BEAT_MIN_ROWS = 100
BEAT_MIN_CLASS_ROWS = 10  # of each class: a handful of hits makes AUC and log loss noise
BEAT_AUC_MARGIN = 0.005
BEAT_LOG_LOSS_SHARE = 0.02  # log loss lower by more than 2%
# the baselines a model must not lose to; creator_hit_rate is a reference, shown only
RIVALS = ("szabo_huberman", "logistic")
METRIC_WORDS = {"roc_auc": "ROC AUC", "log_loss": "log loss"}


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = 15) -> float:
    """Weighted mean |observed rate - mean prediction| over equal-width probability bins."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    # per bin, count * |mean(y) - mean(p)| = |sum(y) - sum(p)|
    gaps = np.bincount(which, weights=y, minlength=bins) - np.bincount(
        which, weights=p, minlength=bins
    )
    return float(np.abs(gaps).sum() / len(y))


def calibration_bins(
    y: np.ndarray, p: np.ndarray, bins: int = GAP_BINS, min_rows: int = GAP_MIN_ROWS
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows, hits and summed predictions in each equal-mass probability bin.

    As many bins as hold ``min_rows`` rows each, at most ``bins``, cut at the predictions'
    quantiles; equal predictions share a bin (a lower one at a cut). Equal-width bins left
    all but the near-zero bin nearly empty wherever hits are rare (youtube_in: per-age gaps
    of 0.015 beside an overall 0.186): the rows that were off counted nowhere. Here every
    row counts in a bin of ``min_rows`` or more (fewer only where ties pile up).

    One binning for the calibration gap and the reliability plots, so a plot shows exactly
    the bins its figure was taken from.
    """
    p = np.asarray(p, dtype="float64")
    y = np.asarray(y, dtype="float64")
    if not len(p):
        return np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0)
    which, size = bin_index(p, bins, min_rows)
    counts = np.bincount(which, minlength=size)
    hits = np.bincount(which, weights=y, minlength=size)
    return counts, hits, np.bincount(which, weights=p, minlength=size)


def bin_index(
    p: np.ndarray, bins: int = GAP_BINS, min_rows: int = GAP_MIN_ROWS
) -> tuple[np.ndarray, int]:
    """Each prediction's equal-mass bin (``calibration_bins``' cuts), and how many bins."""
    count = max(1, min(bins, len(p) // min_rows))
    cuts = np.unique(np.quantile(p, np.linspace(0, 1, count + 1)[1:-1]))
    return np.searchsorted(cuts, p, side="left"), len(cuts) + 1


def calibration_gap(
    y: np.ndarray, p: np.ndarray, min_rows: int = GAP_MIN_ROWS, bins: int = GAP_BINS
) -> float:
    """The largest |observed rate - mean prediction| over the equal-mass bins of
    ``calibration_bins`` holding ``min_rows`` rows or more; NaN when none does.

    ECE averages over rows, so the many rows near zero can hide a bin that is far off; this
    figure cannot be hidden that way, and, every bin being full, neither can rows that an
    equal-width bin would have left too empty to count.
    """
    counts, hits, predicted = calibration_bins(y, p, bins, min_rows)
    full = counts >= min_rows
    gaps = np.abs(hits[full] - predicted[full]) / counts[full]
    return float(np.max(gaps)) if full.any() else float("nan")


def calibration_warning(tables: Mapping[str, pd.DataFrame]) -> str | None:
    """One line when LightGBM's overall test calibration gap exceeds ``GAP_WARN``, naming
    the age buckets over it too; None when it is within (or undefined).

    Per-age gaps alone could look fine while the overall one is not (and the reverse):
    train judges the overall figure, the line shows both.
    """
    gaps = tables["lightgbm"]["calibration_gap"]
    overall = float(gaps["all"])
    if not np.isfinite(overall) or overall <= GAP_WARN:
        return None
    over = [str(age) for age, gap in gaps.drop(index="all").items() if gap > GAP_WARN]
    ages = f"; over it at ages {', '.join(over)} min" if over else ""
    return (
        f"the calibration gap on test is {overall:.3f} (> {GAP_WARN:g}): answers are off by "
        f"that much in some probability range{ages}; see the run's reliability plots"
    )


def ranking_scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """ROC AUC and average precision (PR AUC) from one sort, ties treated as scikit-learn
    treats them (tests compare the two).

    A run scores four models at every age bucket, so one sort for both metrics instead of
    scikit-learn's checks and two sorts per metric (docs/adr/0010).
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
    return {
        "roc_auc": roc_auc,
        "pr_auc": pr_auc,
        "log_loss": float(np.mean(row_log_loss(y, p))),
        "brier": float(np.mean((p - y) ** 2)),
        "ece": expected_calibration_error(y, p),
        "calibration_gap": calibration_gap(y, p),
        "positive_rate": float(y.mean()),
        "n": float(len(y)),
    }


def row_log_loss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Each row's log loss; probabilities clipped so that a confident miss costs 13.8, not
    infinity."""
    y, clipped = np.asarray(y, dtype=float), np.clip(np.asarray(p, dtype=float), 1e-6, 1 - 1e-6)
    return -(y * np.log(clipped) + (1 - y) * np.log1p(-clipped))


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


@dataclass(frozen=True)
class Beat:
    """An age bucket (or "all") where a baseline beats LightGBM, and the figures showing it."""

    baseline: str
    bucket: str
    metric: str  # "roc_auc" or "log_loss"
    theirs: float
    ours: float


def beat_on(ours: pd.Series, theirs: pd.Series) -> str | None:
    """The metric on which a baseline's row beats LightGBM's row of the same bucket, if any.

    A bucket counts only with enough rows of each class: with a handful of hits, one video
    ranked differently moves the AUC by more than the margin.
    """
    hits = round(float(ours["n"] * ours["positive_rate"]))
    if ours["n"] < BEAT_MIN_ROWS or min(hits, ours["n"] - hits) < BEAT_MIN_CLASS_ROWS:
        return None
    if theirs["roc_auc"] > ours["roc_auc"] + BEAT_AUC_MARGIN:
        return "roc_auc"
    if theirs["log_loss"] < ours["log_loss"] * (1 - BEAT_LOG_LOSS_SHARE):
        return "log_loss"
    return None


def baseline_beats(tables: Mapping[str, pd.DataFrame]) -> list[Beat]:
    """Every (baseline, bucket) where a baseline beats LightGBM, in the tables' order.

    ``tables`` maps model names to their metrics by age bucket ("lightgbm" and each
    baseline); the one rule behind train's table and warning, the run's metrics and promote.
    """
    ours = tables["lightgbm"]
    found = []
    for name, table in tables.items():
        if name == "lightgbm":
            continue
        for bucket in ours.index.intersection(table.index):
            metric = beat_on(ours.loc[bucket], table.loc[bucket])
            if metric is not None:
                theirs, mine = table.loc[bucket, metric], ours.loc[bucket, metric]
                found.append(Beat(name, str(bucket), metric, float(theirs), float(mine)))
    return found


def disqualifying(beats: Sequence[Beat]) -> list[Beat]:
    """The beats that bar a model from promotion: those of the baselines in ``RIVALS``."""
    return [beat for beat in beats if beat.baseline in RIVALS]


def beat_metrics(tables: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Run metrics ``baseline_<name>_beats_lightgbm[_age_<a>]``: 1 where it beats, else 0."""
    beats = {(b.baseline, b.bucket) for b in baseline_beats(tables)}
    buckets = [str(bucket) for bucket in tables["lightgbm"].index]
    out: dict[str, float] = {}
    for name in tables.keys() - {"lightgbm"}:
        marks = pd.DataFrame(
            {"beats_lightgbm": [float((name, b) in beats) for b in buckets]}, index=buckets
        )
        out.update(flatten(marks, f"baseline_{name}"))
    return out


def in_words(buckets: Sequence[str]) -> str:
    """Buckets in words: "overall and at ages 15, 30 min"."""
    ages = [b for b in buckets if b != "all"]
    at = f"at age{'s' if len(ages) > 1 else ''} {', '.join(ages)} min" if ages else ""
    overall = "overall" if "all" in buckets else ""
    return " and ".join(part for part in (overall, at) if part)


def describe_beats(beats: Sequence[Beat]) -> str:
    """One line: which baseline beats LightGBM where, with the figures of its first bucket."""
    parts = []
    for name in dict.fromkeys(beat.baseline for beat in beats):
        mine = [beat for beat in beats if beat.baseline == name]
        first = mine[0]
        at = "overall" if first.bucket == "all" else f"at {first.bucket} min"
        parts.append(
            f"{name} beats LightGBM {in_words([b.bucket for b in mine])} "
            f"({METRIC_WORDS[first.metric]} {first.theirs:.4f} against {first.ours:.4f} {at})"
        )
    return "; ".join(parts)
