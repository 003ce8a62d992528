"""The feature matrix: no example sees the future, and every path gives the same features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.catalog import FEATURES
from features.examples import grid_examples, video_rows
from features.labels import label_videos
from features.loading import Dataset
from features.matrix import build_features, build_grid_features
from likecast.settings import FIRST_DAY_AGES_MINUTES
from tests.features.conftest import HORIZON, examples, spec_for, spec_for_ages


@pytest.mark.slow
def test_no_feature_uses_a_later_snapshot(small_dataset: Dataset) -> None:
    # given the examples of every video at every age
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    rows = examples(videos, snapshots)
    spec = spec_for(rows, videos, snapshots)
    before = build_features(rows, spec)
    for age in FIRST_DAY_AGES_MINUTES:
        # when every snapshot observed after this age is scrambled
        later = snapshots["age_minutes"] > age
        scrambled = snapshots.copy()
        for column in ("views", "likes", "comments", "shares", "follows", "replies"):
            scrambled.loc[later, column] = scrambled.loc[later, column] * 7 + 13
        scrambled.loc[later, "completion_rate"] = 0.99
        # then the features of examples at that age do not change (history excepted:
        # it depends on other videos' closed outcomes, checked separately below)
        after = build_features(examples(videos, scrambled), spec)
        at_age = (rows["age_minutes"] == age).to_numpy()
        engagement = [
            c
            for c in FEATURES
            if c not in {"hist_median_likes_log", "hist_p90_likes_log", "hist_hit_rate"}
        ]
        pd.testing.assert_frame_equal(before.loc[at_age, engagement], after.loc[at_age, engagement])


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.slow
def test_training_grid_gives_the_features_of_its_flat_rows(
    small_dataset: Dataset, threads: int
) -> None:
    # given every video at every age, kept per video and per example (as training keeps
    # them) and as flat rows (as batch scoring and the service build them)
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    grid = grid_examples(
        video_rows(videos, labels, 1000, HORIZON, 30), snapshots, (0, 30, 240), HORIZON
    )
    rows = grid.rows()
    spec = spec_for_ages(rows, labels, 3)
    # when both become features
    from_grid, from_rows = build_grid_features(grid, spec, threads), build_features(rows, spec)
    # then they are the same, value for value (so the leakage test above covers training)
    assert len(from_grid) == len(videos) * 3
    pd.testing.assert_frame_equal(from_grid, from_rows, check_index_type=False)


def test_cold_start_is_explicit_and_unseen_category_is_missing(three_posts) -> None:
    videos, snaps = three_posts
    rows = examples(videos, snaps)
    spec = spec_for(rows, videos, snaps)
    rows["category"] = rows["category"].astype(object)
    rows.loc[rows["video_id"] == "solo", "category"] = "knitting"  # never seen in training
    features = build_features(rows, spec).set_index(rows["video_id"])
    solo = features.loc["solo"].iloc[0]
    assert pd.isna(solo["category"])
    assert solo["cold_start"] == 1.0
    assert solo["hist_videos"] == 0.0
    assert np.isnan(solo["hist_median_likes_log"]), "no history is missing, not zero"


def test_missing_optional_inputs_stay_missing(three_posts) -> None:
    # given snapshots with likes only and videos with no optional columns
    videos, snaps = three_posts
    rows = examples(videos, snaps)
    features = build_features(rows, spec_for(rows, videos, snaps))
    # then counts, rates and durations are missing, never invented
    for column in ("views_log", "comments_log", "completion_rate", "duration_log", "followers_log"):
        assert features[column].isna().all(), column
    assert features["likes_log"].notna().any()
