"""The plots and the HTML report a training run logs."""

from __future__ import annotations

import base64
from pathlib import Path

from training.report import MODELS, html_report, plots
from training.train import TrainOutcome


def test_the_report_is_one_html_page_with_every_plot_inlined(
    trained: TrainOutcome, tmp_path: Path
) -> None:
    # given the plots of a run
    images = plots(trained, tmp_path / "plots", seed=1)
    assert [p.name for p in images] == [
        "roc_pr.png",
        "reliability.png",
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
