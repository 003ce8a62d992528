"""Training examples: history is what was known at posting, drafts observe nothing."""

from __future__ import annotations

import pandas as pd
import pytest

from features.examples import video_rows
from features.labels import label_videos
from features.loading import Dataset
from tests.features.conftest import HORIZON, examples


def test_history_ignores_outcomes_not_yet_known(small_dataset: Dataset) -> None:
    # given each video's history at its posting time
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    base = video_rows(videos, labels, 1000, HORIZON, 30)
    # when the outcomes of the most recent videos (whose horizon closes after the last
    # posting in the data) are changed
    last_post = videos["posted_at"].max()
    recent = (videos["posted_at"] + pd.Timedelta(minutes=HORIZON) > last_post).to_numpy()
    changed = labels.copy()
    changed.loc[recent & changed["labeled"].to_numpy(), "likes_at_horizon"] = 10**7
    after = video_rows(videos, changed, 1000, HORIZON, 30)
    # then no video's history moved: nobody could have seen those outcomes yet
    pd.testing.assert_frame_equal(base, after)


def test_history_is_point_in_time(three_posts: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    videos, snaps = three_posts
    labels = label_videos(videos, snaps, 1000, HORIZON)
    rows = video_rows(videos, labels, 1000, HORIZON, 30).set_index("video_id")
    # video a: the creator's first post, a cold start
    assert rows.loc["a", "hist_videos"] == 0
    assert pd.isna(rows["hist_median_likes"].to_dict()["a"])
    # video b (day 3): a was posted but its horizon (day 7) had not closed
    assert rows.loc["b", "hist_videos"] == 0
    assert rows.loc["b", "hist_last_posted_at"] == videos["posted_at"][0]
    # video c (day 10): a's outcome (1500 likes, a hit) is known; b's (closes day 10) too
    assert rows.loc["c", "hist_videos"] == 2
    assert rows.loc["c", "hist_median_likes"] == pytest.approx(850.0)
    assert rows.loc["c", "hist_hit_rate"] == pytest.approx(0.5)
    assert rows.loc["c", "hist_last_posted_at"] == videos["posted_at"][1]
    # a creator with one video has no history at all
    assert rows.loc["solo", "hist_videos"] == 0
    assert pd.isna(rows["hist_last_posted_at"].to_dict()["solo"])


def test_drafts_observe_nothing_and_growth_uses_earlier_snapshots(small_dataset: Dataset) -> None:
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    rows = examples(videos.head(50), snapshots)
    drafts = rows[rows["age_minutes"] == 0]
    assert drafts["likes"].isna().all()
    assert drafts["obs_age_minutes"].isna().all()
    hour = rows[rows["age_minutes"] == 60].dropna(subset=["lag2_likes"])
    assert (hour["lag1_age_minutes"] < hour["obs_age_minutes"]).all()
    assert (hour["lag2_age_minutes"] < hour["lag1_age_minutes"]).all()
    assert (hour["obs_age_minutes"] <= 60).all()
