"""Two models on the same test rows: a difference is called only where the videos' noise
cannot explain it (training/paired.py)."""

from __future__ import annotations

import numpy as np
import pytest

from training.metrics import score
from training.paired import Difference, paired_differences

VIDEOS = 2000


def platform(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, a good model's probabilities and video ids: 2,000 videos, one row each."""
    rng = np.random.default_rng(seed)
    signal = rng.normal(size=VIDEOS)
    y = (signal + rng.normal(size=VIDEOS) > 1.5).astype(float)
    p = 1 / (1 + np.exp(-(2 * signal - 3)))
    return y, p, np.array([f"v{i}" for i in range(VIDEOS)])


def by_metric(found: list[Difference]) -> dict[str, Difference]:
    return {d.metric: d for d in found}


def test_the_same_model_is_not_worse_and_differs_by_nothing() -> None:
    # given two copies of one model; when compared; then both differences are exactly 0
    y, p, ids = platform()
    found = by_metric(paired_differences(y, p, p.copy(), ids, seed=1))
    assert [(d.value, d.low, d.high, d.worse) for d in found.values()] == [(0, 0, 0, False)] * 2


def equally_good(signal: np.ndarray, seed: int) -> np.ndarray:
    """A model of ``signal`` that errs by its own noise: two seeds, two equally good models."""
    noise = np.random.default_rng(seed).normal(0, 0.5, len(signal))
    return 1 / (1 + np.exp(-(2 * signal - 3 + noise)))


# the seeds at which the candidate, as good as the champion in truth, loses on these rows
@pytest.mark.parametrize("seed", [1, 3, 4, 8])
def test_a_loss_within_the_noise_is_not_called_worse(seed: int) -> None:
    # given two models as good as each other, the candidate losing a little on these rows
    y, p, ids = platform()
    signal = np.log(p / (1 - p))
    candidate, champion = equally_good(signal, 100 + seed), equally_good(signal, 200 + seed)
    found = by_metric(paired_differences(y, candidate, champion, ids, seed=seed))
    auc = found["roc_auc"]
    assert auc.value < 0
    gap = score(y, candidate)["roc_auc"] - score(y, champion)["roc_auc"]
    assert auc.value == pytest.approx(gap)
    # then the interval holds 0 on both metrics, and neither is called worse
    assert all(d.low < 0 < d.high for d in found.values())
    assert not any(d.worse for d in found.values())


def weaker_of(p: np.ndarray) -> np.ndarray:
    """``p`` drowned in as much noise again as its own signal: a model that ranks worse."""
    noise = np.random.default_rng(5).normal(0, 2.0, len(p))
    return 1 / (1 + np.exp(-(np.log(p / (1 - p)) + noise)))


def test_a_model_that_ranks_worse_is_called_worse_on_roc_auc() -> None:
    # given a candidate that ranks worse than the champion
    y, p, ids = platform()
    weaker = weaker_of(p)
    found = by_metric(paired_differences(y, weaker, p, ids, seed=1))
    # then its ROC AUC interval lies below 0, and the words say so with the interval
    auc = found["roc_auc"]
    assert auc.worse
    assert auc.high < 0
    assert auc.words().startswith(f"ROC AUC {auc.value:+.4f} (90% interval {auc.low:+.4f}")


def test_a_better_model_is_not_worse_and_its_gain_is_positive() -> None:
    y, p, ids = platform()
    weaker = weaker_of(p)
    # given the comparison the other way round: the good model as the candidate
    found = by_metric(paired_differences(y, p, weaker, ids, seed=1))
    # then it gains on both metrics, with intervals on the gaining side
    assert found["roc_auc"].low > 0
    assert found["log_loss"].high < 0
    assert not any(d.worse for d in found.values())


def test_the_rows_of_one_video_are_resampled_together() -> None:
    # given each video asked 8 times (the same answer at each age)
    y, p, ids = platform()
    rng = np.random.default_rng(7)
    other = np.clip(p + rng.normal(0, 0.05, len(p)), 0, 1)
    once = paired_differences(y, other, p, ids, seed=3)
    # when the rows are repeated 8 times per video
    repeated = paired_differences(
        np.repeat(y, 8), np.repeat(other, 8), np.repeat(p, 8), np.repeat(ids, 8), seed=3
    )
    # then the intervals are those of one row per video: 8 rows are not 8 witnesses
    for a, b in zip(once, repeated, strict=True):
        assert (a.low, a.high) == pytest.approx((b.low, b.high), rel=1e-9)


def test_rows_of_one_class_measure_nothing() -> None:
    # given test rows without a single hit; then no difference is called worse
    _, p, ids = platform()
    found = by_metric(paired_differences(np.zeros(VIDEOS), p[::-1].copy(), p, ids, seed=1))
    assert not found["roc_auc"].worse
    assert np.isnan(found["roc_auc"].value)
