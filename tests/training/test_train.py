"""What a training run reports beyond the overall metrics."""

from __future__ import annotations

import pandas as pd

from features.labels import label_videos
from features.loading import Dataset
from training.train import TrainOutcome


def test_new_creators_are_test_rows_whose_creator_never_trained(
    trained: TrainOutcome, small_dataset: Dataset
) -> None:
    # given the creators of the videos in the training slice (posted before validation)
    videos = small_dataset.videos
    labels = label_videos(videos, small_dataset.snapshots, 1000, 7 * 24 * 60.0)
    valid_from = pd.Timestamp(trained.bundle.meta["split_cutoffs"]["valid"])
    trained_on = videos["posted_at"].lt(valid_from).to_numpy() & labels["labeled"].to_numpy()
    seen = set(videos.loc[trained_on, "creator_id"])
    # when the run counts the test rows of creators it never trained on
    expected = (~trained.test_rows["creator_id"].isin(seen)).sum()
    # then that is the number its creator-disjoint metrics are computed on
    assert expected > 0
    assert trained.metrics["test_new_creators_n"] == expected
