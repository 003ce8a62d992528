"""Labels: likes at the horizon, whatever order the snapshots come in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.labels import label_videos
from features.loading import Dataset

HORIZON = 7 * 24 * 60.0


@pytest.mark.parametrize("seed", [0, 1])
def test_labels_do_not_depend_on_snapshot_order(small_dataset: Dataset, seed: int) -> None:
    # given the loader's snapshots (in video and age order) and the same rows shuffled
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    shuffled = snapshots.sample(frac=1, random_state=seed)
    # when both are labeled
    in_order = label_videos(videos, snapshots, 1000, HORIZON)
    any_order = label_videos(videos, shuffled, 1000, HORIZON)
    # then the labels agree, and some videos are labeled each way
    pd.testing.assert_frame_equal(in_order, any_order)
    assert in_order["labeled"].any()
    assert (in_order["label"] == 1).any()
    assert (in_order["label"] == 0).any()


def test_unlabeled_videos_have_no_label(three_posts: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    videos, snaps = three_posts
    labels = label_videos(videos, snaps, 1000, HORIZON).set_index("video_id")
    assert labels.loc["a", "label"] == 1.0
    assert labels.loc["b", "label"] == 0.0
    assert not labels.loc["c", "labeled"]
    assert np.isnan(labels["label"].to_numpy()[labels.index.get_loc("c")])
