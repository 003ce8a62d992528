"""Calibration judged on equal-mass bins with enough rows, and a warning when the overall
gap exceeds 0.05: per-age figures can no longer hide rows that are far off."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from likecast.settings import Settings
from training.metrics import (
    GAP_MIN_ROWS,
    GAP_WARN,
    calibration_bins,
    calibration_gap,
    calibration_warning,
    score_by_age,
)
from training.tracking import log_and_register
from training.train import TrainOutcome

AGES = (0.0, 60.0, 1440.0)


def rare_hits_overstated(rows_per_age: int, seed: int) -> tuple[np.ndarray, ...]:
    """Per age: 90% of rows near zero and right, 10% spread over 0.3-0.9 that hit 10% of
    the time (youtube_in's shape: the confident rows are few, and off)."""
    rng = np.random.default_rng(seed)
    low, high = int(rows_per_age * 0.9), rows_per_age - int(rows_per_age * 0.9)
    p = np.tile(np.r_[rng.uniform(0.0, 0.02, low), rng.uniform(0.3, 0.9, high)], len(AGES))
    chance = np.where(p < 0.1, p, 0.1)
    y = (rng.random(len(p)) < chance).astype(float)
    return y, p, np.repeat(AGES, rows_per_age)


@pytest.mark.parametrize("rows_per_age", [1_000, 3_000])
def test_a_few_confident_rows_that_are_off_show_at_every_age_and_overall(
    rows_per_age: int,
) -> None:
    # given ages where only the near-zero equal-width bin would hold 100 rows
    y, p, ages = rare_hits_overstated(rows_per_age, seed=1)
    # when calibration is scored by age
    table = score_by_age(y, p, ages, AGES)
    # then each age's gap and the overall gap show the confident rows' miss (about 0.5)
    assert (table["calibration_gap"] > 0.3).all(), table["calibration_gap"]
    # and train's warning names the overall gap and every age over the limit
    line = calibration_warning({"lightgbm": table})
    assert line is not None
    assert f"{table.loc['all', 'calibration_gap']:.3f} (> {GAP_WARN:g})" in line
    assert "ages 0, 60, 1440 min" in line


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_calibrated_answers_stay_within_the_limit_and_raise_no_warning(seed: int) -> None:
    # given labels drawn from the predictions themselves (calibrated by construction), in
    # bins of 2,000 rows: sampling noise (sd <= 0.011) stays well under the limit
    rng = np.random.default_rng(seed)
    p = rng.beta(0.5, 4.0, 3 * 20_000)
    y = (rng.random(len(p)) < p).astype(float)
    # when scored by age
    table = score_by_age(y, p, np.repeat(AGES, 20_000), AGES)
    # then no gap exceeds the limit, and train says nothing
    assert (table["calibration_gap"] <= GAP_WARN).all(), table["calibration_gap"]
    assert calibration_warning({"lightgbm": table}) is None


@pytest.mark.parametrize(("rows", "bins"), [(99, 1), (100, 1), (250, 2), (1_000, 10), (50_000, 10)])
def test_every_row_is_in_an_equal_mass_bin_of_enough_rows(rows: int, bins: int) -> None:
    # given predictions crowded near zero with a thin tail
    rng = np.random.default_rng(rows)
    p = rng.beta(0.3, 20.0, rows)
    y = (rng.random(rows) < p).astype(float)
    # when binned
    counts, hits, predicted = calibration_bins(y, p)
    # then every row counts, in as many bins as hold the minimum each (at most ten)
    assert counts.sum() == rows
    assert len(counts) == bins
    if rows >= GAP_MIN_ROWS:
        assert counts.min() >= GAP_MIN_ROWS
        assert np.isfinite(calibration_gap(y, p))
    else:
        assert np.isnan(calibration_gap(y, p))
    assert hits.sum() == pytest.approx(y.sum())
    assert predicted.sum() == pytest.approx(p.sum())


def test_equal_predictions_share_a_bin() -> None:
    # given 9,000 rows at exactly zero and 200 at 0.5 that hit 70% of the time
    y = np.r_[np.zeros(9_000), np.ones(140), np.zeros(60)]
    p = np.r_[np.zeros(9_000), np.full(200, 0.5)]
    # when binned, then the 200 rows are a bin of their own, 0.2 off
    counts, _, _ = calibration_bins(y, p)
    assert sorted(counts.tolist()) == [200, 9_000]
    assert calibration_gap(y, p) == pytest.approx(0.2)


@pytest.mark.subprocess  # MLflow runs git when it logs a run
@pytest.mark.usefixtures("tracking_store")  # its home, the tables made
def test_a_run_over_the_limit_is_tagged_in_mlflow(trained: TrainOutcome, tmp_path: Path) -> None:
    # given a trained outcome whose overall test gap is youtube_in's 0.186
    tables = dict(trained.tables)
    table = tables["lightgbm"].copy()
    table.loc["all", "calibration_gap"] = 0.186
    tables["lightgbm"] = table
    outcome = dataclasses.replace(trained, tables=tables)
    settings = Settings(home=tmp_path / "home")
    # when the run is logged and registered
    registered = log_and_register(outcome, {"videos": 4000}, settings, "calibration")
    # then the run carries the warning as a tag and a metric
    uri = f"sqlite:///{(tmp_path / 'home').resolve() / 'mlflow.db'}"
    run = MlflowClient(uri, uri).get_run(registered.run_id)
    assert run.data.tags["calibration_warning"].startswith("the calibration gap on test is 0.186")
    assert run.data.metrics["calibration_gap_over_limit"] == 1.0
