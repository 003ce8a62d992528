"""The run's metrics agree with scikit-learn's, ties and single-class slices included."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

from training.metrics import calibration_gap, expected_calibration_error, score


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
