"""The plots and the HTML report a training run logs."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from features.loading import Dataset
from likecast.settings import Settings
from training.metrics import GAP_MIN_ROWS
from training.report import MODELS, html_report, plots, reliability_bins
from training.train import TrainOutcome, fit


@pytest.fixture(scope="module")
def stopped_early(small_dataset: Dataset, settings: Settings) -> TrainOutcome:
    """The small data set's model with a booster stopped after 30 rounds: the logistic
    baseline ranks its drafts better on the test slice (tests/training/test_cli.py)."""
    return fit(small_dataset, settings, {"num_boost_round": 30})


@pytest.mark.slow  # six Matplotlib figures, the SHAP summary among them, and a training
def test_the_report_is_one_html_page_with_every_plot_inlined(
    stopped_early: TrainOutcome, tmp_path: Path
) -> None:
    # given the plots of a run whose LightGBM a baseline beats
    trained = stopped_early
    images = plots(trained, tmp_path / "plots", seed=1)
    assert [p.name for p in images] == [
        "roc_pr.png",
        "reliability.png",
        "reliability_by_age.png",
        "auc_by_age.png",
        "importance_gain.png",
        "shap_summary.png",
    ]
    assert all(p.read_bytes().startswith(b"\x89PNG") for p in images)
    # when the report is written
    page = html_report(trained, {"videos": 4000}, images)
    # then it is a self-contained HTML page: every plot inlined, every model's AUC, the data
    assert page.startswith("<!doctype html>")
    for image in images:
        assert base64.b64encode(image.read_bytes()).decode() in page
    for name in MODELS:
        assert f"<th>{name}</th>" in page
    overall = float(trained.tables["lightgbm"]["roc_auc"]["all"])
    assert f"Test ROC AUC <b>{overall:.4f}</b>" in page
    assert "<td>4000</td>" in page
    # and it says which baseline beats LightGBM (logistic, at the draft age)
    assert "Baselines: logistic beats LightGBM at age 0 min" in page


def test_the_reliability_panels_hold_every_test_row_of_their_age(trained: TrainOutcome) -> None:
    # when the test slice is binned for the reliability plot, one panel per age bucket
    panels = reliability_bins(trained)
    # then there is a panel for every age bucket with open test rows, holding all of them
    table = trained.tables["lightgbm"].drop(index="all")
    assert list(panels) == list(table.index)
    for age, bins in panels.items():
        assert bins["rows"].sum() == table.loc[age, "n"]
        assert bins["counted"].tolist() == (bins["rows"] >= GAP_MIN_ROWS).tolist()
        # and the gap the panel shows is the largest over its counted bins
        counted = bins[bins["counted"]]
        gap = (counted["observed"] - counted["predicted"]).abs().max()
        assert table.loc[age, "calibration_gap"] == pytest.approx(gap, nan_ok=True)
