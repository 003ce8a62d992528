"""What a training run reports beyond the overall metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.labels import label_videos
from features.loading import Dataset
from models.bundle import ModelBundle
from training.train import TrainOutcome, category_rates


def test_new_creators_are_test_rows_whose_creator_never_trained(
    trained: TrainOutcome, small_dataset: Dataset
) -> None:
    # given the creators of the videos in the training slice (posted before validation)
    videos = small_dataset.videos
    labels = label_videos(videos, small_dataset.snapshots, 1000, 7 * 24 * 60.0)
    valid_from = pd.Timestamp(trained.bundle.meta.split_cutoffs["valid"])
    trained_on = videos["posted_at"].lt(valid_from).to_numpy() & labels["labeled"].to_numpy()
    seen = set(videos.loc[trained_on, "creator_id"])
    # when the run counts the test rows of creators it never trained on
    expected = (~trained.test_rows["creator_id"].isin(seen)).sum()
    # then that is the number its creator-disjoint metrics are computed on
    assert expected > 0
    assert trained.metrics["test_new_creators_n"] == expected


def test_the_bundle_keeps_lightgbms_test_metrics_by_age_as_strict_json(
    trained: TrainOutcome, tmp_path: Path
) -> None:
    # given the run's LightGBM test table, with ages where no AUC exists (a single class)
    table = trained.tables["lightgbm"]
    assert table["roc_auc"].isna().any()
    # when the bundle is saved and read back
    meta = ModelBundle.load(trained.bundle.save(tmp_path / "bundle")).meta
    # then it holds every age bucket's metrics, an undefined one as null, never NaN
    assert meta.by_age is not None
    assert set(meta.by_age) == set(table.index) - {"all"}
    for age, scores in meta.by_age.items():
        expected = table.loc[age].astype(object).where(table.loc[age].notna(), None)
        assert scores == expected.to_dict()
    json.dumps(meta.by_age, allow_nan=False)


@pytest.mark.parametrize(
    ("categories", "labels", "expected"),
    [
        # five videos, one without a category: each category's share and count of videos
        (
            ["food", "food", "food", "beauty", None],
            [1.0, 0.0, 0.0, 1.0, 1.0],
            {
                "food": {"rate": pytest.approx(1 / 3), "videos": 3},
                "beauty": {"rate": 1.0, "videos": 1},
            },
        ),
        # a data set without categories: no rates, so answers say nothing of a category
        ([None, None], [1.0, 0.0], {}),
    ],
)
def test_category_rates_are_each_categorys_share_of_videos_that_reached_the_threshold(
    categories: list[str | None], labels: list[float], expected: dict
) -> None:
    # given videos' categories and labels, when their rates are taken
    rates = category_rates(np.array(categories, dtype=object), np.array(labels))
    # then each category has its share and its count of videos; the uncategorized none
    assert rates == expected


@pytest.mark.slow
def test_the_bundle_keeps_the_category_rates_of_the_training_videos(
    trained: TrainOutcome, small_dataset: Dataset, tmp_path: Path
) -> None:
    # given the labeled videos posted before the validation slice: the training videos
    videos = small_dataset.videos
    labels = label_videos(videos, small_dataset.snapshots, 1000, 7 * 24 * 60.0)
    valid_from = pd.Timestamp(trained.bundle.meta.split_cutoffs["valid"])
    trained_on = videos["posted_at"].lt(valid_from).to_numpy() & labels["labeled"].to_numpy()
    frame = pd.DataFrame({"category": videos["category"], "label": labels["label"]})[trained_on]
    expected = frame.groupby("category", observed=True)["label"].agg(["mean", "size"])
    # when the bundle is saved and read back
    rates = ModelBundle.load(trained.bundle.save(tmp_path / "bundle")).meta.category_rates
    # then it holds each category's share and count of those videos, one row per video
    assert rates is not None
    assert sorted(rates) == sorted(expected.index)
    for name, row in expected.iterrows():
        assert rates[name] == {"rate": pytest.approx(row["mean"]), "videos": row["size"]}
    categorized = trained_on & videos["category"].notna().to_numpy()
    assert sum(r["videos"] for r in rates.values()) == categorized.sum()
