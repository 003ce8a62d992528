"""The run's metrics agree with scikit-learn's, ties and single-class slices included."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from training.metrics import (
    Beat,
    baseline_beats,
    beat_metrics,
    calibration_bins,
    calibration_gap,
    describe_beats,
    disqualifying,
    expected_calibration_error,
    score,
)


def _case(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    y = (rng.random(5_000) < 0.1).astype(float)
    p = np.clip(rng.random(5_000) * 0.6 + y * 0.3, 0, 1)
    if kind == "ties":  # calibrated outputs: few distinct values
        p = np.round(p, 1)
    elif kind == "all_tied":
        p = np.full_like(p, 0.2)
    elif kind == "tiny":
        y, p = np.array([0.0, 1.0, 0.0, 1.0]), np.array([0.1, 0.4, 0.4, 0.8])
    return y, p


@pytest.mark.parametrize("kind", ["continuous", "ties", "all_tied", "tiny"])
def test_metrics_match_scikit_learn(kind: str) -> None:
    # given labels and predictions of each kind
    y, p = _case(kind)
    # when the run scores them
    ours = score(y, p)
    # then every metric equals scikit-learn's
    assert ours["roc_auc"] == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert ours["pr_auc"] == pytest.approx(average_precision_score(y, p), abs=1e-12)
    clipped = np.clip(p, 1e-6, 1 - 1e-6)
    assert ours["log_loss"] == pytest.approx(log_loss(y, clipped, labels=[0, 1]), abs=1e-12)
    assert ours["brier"] == pytest.approx(brier_score_loss(y, p), abs=1e-12)


@pytest.mark.parametrize("label", [0.0, 1.0])
def test_a_single_class_has_no_ranking_metrics(label: float) -> None:
    # given a slice where every video has the same outcome
    y, p = np.full(50, label), np.linspace(0.01, 0.99, 50)
    # when it is scored
    ours = score(y, p)
    # then the ranking metrics are missing, the others still computed
    assert np.isnan(ours["roc_auc"])
    assert np.isnan(ours["pr_auc"])
    assert ours["brier"] == pytest.approx(brier_score_loss(y, p))


@pytest.mark.parametrize(
    ("y", "p", "expected"),
    [
        # one example per bin: each counts its own gap
        ([0, 1, 1, 0], [0.1, 0.15, 0.9, 0.95], (0.1 + 0.85 + 0.1 + 0.95) / 4),
        # one bin, observed rate 0.5 against a mean prediction of 0.5
        ([0, 1], [0.48, 0.52], 0.0),
        # two bins, each off by 0.3, weighted by their counts (3 and 1)
        ([1, 0, 0, 1], [0.05, 0.05, 0.0, 0.7], (3 * abs(1 / 3 - 0.1 / 3) + 0.3) / 4),
        # the edges: 0 and 1 fall in the first and last bins
        ([0, 1], [0.0, 1.0], 0.0),
    ],
)
def test_ece_weighs_each_bins_gap_by_its_count(
    y: list[float], p: list[float], expected: float
) -> None:
    # given labels and predictions spread over 15 equal-width bins
    # when the expected calibration error is computed
    ece = expected_calibration_error(np.array(y, dtype=float), np.array(p, dtype=float))
    # then it is the count-weighted mean gap between observed rate and mean prediction
    assert ece == pytest.approx(expected, abs=1e-12)


def test_calibration_gap_is_not_hidden_by_the_rows_near_zero() -> None:
    # given 9,000 rows near zero predicted right, and 200 rows at 0.5 that hit 70% of the time
    y = np.r_[np.zeros(9_000), np.ones(140), np.zeros(60)]
    p = np.r_[np.zeros(9_000), np.full(200, 0.5)]
    # when the calibration is summed up
    ece, gap = expected_calibration_error(y, p), calibration_gap(y, p, min_rows=100)
    # then the average barely moves, while the gap shows the bin that is 0.2 off
    assert ece < 0.005
    assert gap == pytest.approx(0.2)


@pytest.mark.parametrize(("min_rows", "expected"), [(100, 0.2), (201, float("nan"))])
def test_calibration_gap_counts_only_full_bins(min_rows: int, expected: float) -> None:
    # given one bin of 200 rows, 0.2 off
    y, p = np.r_[np.ones(140), np.zeros(60)], np.full(200, 0.5)
    # when only bins of min_rows rows or more count
    gap = calibration_gap(y, p, min_rows=min_rows)
    # then a bin below the minimum gives no figure at all
    assert gap == pytest.approx(expected, nan_ok=True)


def test_the_calibration_bins_are_the_ones_the_gap_is_taken_over() -> None:
    # given 1,000 predictions spread over the probability range, labels drawn from them
    rng = np.random.default_rng(5)
    p = rng.random(1_000)
    y = (rng.random(1_000) < p**2).astype(float)
    # when they are binned as the reliability plots bin them
    rows, hits, predicted = calibration_bins(y, p)
    # then every row is in one bin, and the largest gap over the full bins is the figure
    assert rows.sum() == 1_000
    full = rows >= 100
    assert calibration_gap(y, p) == pytest.approx(
        np.max(np.abs(hits[full] - predicted[full]) / rows[full])
    )


def _row(auc: float, loss: float, n: float = 1_000, positive_rate: float = 0.1) -> dict:
    return {"roc_auc": auc, "log_loss": loss, "n": n, "positive_rate": positive_rate}


@pytest.mark.parametrize(
    ("ours", "theirs", "expected"),
    [
        (_row(0.900, 0.200), _row(0.906, 0.200), "roc_auc"),  # AUC higher by over 0.005
        (_row(0.900, 0.200), _row(0.904, 0.200), None),  # within the margin: noise
        (_row(0.900, 0.200), _row(0.890, 0.195), "log_loss"),  # 2.5% lower log loss
        (_row(0.900, 0.200), _row(0.900, 0.197), None),  # 1.5% lower: within the margin
        (_row(0.900, 0.200, n=99), _row(0.990, 0.100, n=99), None),  # too few rows
        (_row(0.900, 0.200, positive_rate=0.009), _row(0.990, 0.1), None),  # 9 hits in 1,000
        (_row(0.900, 0.200, positive_rate=0.991), _row(0.990, 0.1), None),  # 9 misses
        (_row(np.nan, 0.010, positive_rate=0.0), _row(np.nan, 0.001), None),  # one class
    ],
)
def test_a_baseline_beats_lightgbm_only_by_more_than_noise(
    ours: dict, theirs: dict, expected: str | None
) -> None:
    # given LightGBM's and a baseline's metrics at one age bucket
    tables = {"lightgbm": pd.DataFrame({"60": ours}).T, "logistic": pd.DataFrame({"60": theirs}).T}
    # when the rule compares them
    beats = baseline_beats(tables)
    # then the baseline beats LightGBM only past a margin, and only on a bucket that can tell
    assert [beat.metric for beat in beats] == ([expected] if expected else [])


def _tables() -> dict[str, pd.DataFrame]:
    """LightGBM beaten by logistic overall and at 15 minutes, by creator_hit_rate at 0."""
    ours = {"all": _row(0.90, 0.20), "0": _row(0.60, 0.30), "15": _row(0.80, 0.25)}
    theirs = {
        "logistic": {"all": _row(0.95, 0.20), "0": _row(0.60, 0.30), "15": _row(0.80, 0.20)},
        "szabo_huberman": {"all": _row(0.85, 0.3), "0": _row(0.5, 0.3), "15": _row(0.7, 0.3)},
        "creator_hit_rate": {"all": _row(0.6, 0.3), "0": _row(0.7, 0.3), "15": _row(0.6, 0.3)},
    }
    return {
        "lightgbm": pd.DataFrame(ours).T,
        **{name: pd.DataFrame(rows).T for name, rows in theirs.items()},
    }


def test_every_beaten_bucket_is_found_and_only_the_rivals_disqualify() -> None:
    # given tables where logistic and the creator_hit_rate reference beat LightGBM somewhere
    beats = baseline_beats(_tables())
    # then each (baseline, bucket) is found with its figures
    assert beats == [
        Beat("logistic", "all", "roc_auc", 0.95, 0.90),
        Beat("logistic", "15", "log_loss", 0.20, 0.25),
        Beat("creator_hit_rate", "0", "roc_auc", 0.7, 0.6),
    ]
    # and only logistic's bar promotion: creator_hit_rate is a reference
    assert {beat.baseline for beat in disqualifying(beats)} == {"logistic"}


def test_the_run_marks_each_baseline_overall_and_per_age() -> None:
    # when the beats become run metrics
    metrics = beat_metrics(_tables())
    # then each baseline has a 0/1 mark overall and at each age
    assert metrics["baseline_logistic_beats_lightgbm"] == 1.0
    assert metrics["baseline_logistic_beats_lightgbm_age_0"] == 0.0
    assert metrics["baseline_logistic_beats_lightgbm_age_15"] == 1.0
    assert metrics["baseline_creator_hit_rate_beats_lightgbm_age_0"] == 1.0
    assert metrics["baseline_szabo_huberman_beats_lightgbm"] == 0.0
    assert len(metrics) == 3 * 3


def test_the_beats_read_as_one_line() -> None:
    # when the beats are described
    line = describe_beats(baseline_beats(_tables()))
    # then each baseline is named with where it wins and its first figures
    assert line == (
        "logistic beats LightGBM overall and at age 15 min (ROC AUC 0.9500 against 0.9000 "
        "overall); creator_hit_rate beats LightGBM at age 0 min (ROC AUC 0.7000 against 0.6000 "
        "at 0 min)"
    )
