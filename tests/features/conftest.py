"""Helpers the feature tests share: examples on the default grid, their spec, three posts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.examples import grid_rows, video_rows
from features.labels import label_videos
from features.spec import FeatureSpec, fit_spec
from likecast.settings import FIRST_DAY_AGES_MINUTES
from tests.pg import postgres, store_at

__all__ = ["postgres", "store_at"]  # the creator store's backends, for the store tests

HORIZON = 7 * 24 * 60.0
# a spec as training would fit it, small enough to read
SPEC = FeatureSpec(
    categories=("food", "music"),
    threshold=1000,
    horizon_minutes=10080.0,
    timezone="Asia/Shanghai",
    szabo_huberman_ages=(15.0, 10080.0),
    szabo_huberman_offsets=(2.0, 0.0),
    szabo_huberman_sigmas=(0.5, 0.05),
    ages=(0.0, 15.0),
)


def examples(videos: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    per_video = video_rows(videos, labels, 1000, HORIZON, 30)
    return grid_rows(per_video, snapshots, FIRST_DAY_AGES_MINUTES, HORIZON)


def spec_for(rows: pd.DataFrame, videos: pd.DataFrame, snapshots: pd.DataFrame) -> FeatureSpec:
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    return spec_for_ages(rows, labels, len(FIRST_DAY_AGES_MINUTES))


def spec_for_ages(rows: pd.DataFrame, labels: pd.DataFrame, ages: int) -> FeatureSpec:
    final = pd.Series(np.repeat(labels["likes_at_horizon"].to_numpy(), ages), index=rows.index)
    return fit_spec(rows, final, 1000, HORIZON, "Asia/Shanghai", FIRST_DAY_AGES_MINUTES)


@pytest.fixture
def three_posts() -> tuple[pd.DataFrame, pd.DataFrame]:
    """One creator posting on day 0, 3 and 10; another with a single video."""
    start = pd.Timestamp("2026-03-01 12:00", tz="UTC")
    videos = pd.DataFrame(
        {
            "video_id": ["a", "b", "c", "solo"],
            "creator_id": ["k", "k", "k", "s"],
            "posted_at": [
                start,
                start + pd.Timedelta(days=3),
                start + pd.Timedelta(days=10),
                start,
            ],
            "category": pd.Categorical(["food", "food", "food", "music"]),
        }
    )
    snaps = pd.DataFrame(
        {
            "video_id": ["a", "a", "b", "b", "c", "solo"],
            "age_minutes": [60.0, HORIZON, 60.0, HORIZON, 60.0, HORIZON],
            "likes": [100, 1500, 10, 200, 5, 30],
        }
    )
    snaps["observed_at"] = snaps["video_id"].map(
        videos.set_index("video_id")["posted_at"]
    ) + pd.to_timedelta(snaps["age_minutes"], unit="min")
    return videos, snaps
