"""Point-in-time correctness: no example sees the future, and history is what was known."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from features.labels import label_videos
from features.loading import Dataset
from features.observations import RAW_COLUMNS, grid_examples, grid_rows, video_rows
from features.pipeline import (
    FEATURES,
    build_features,
    build_grid_features,
    fit_spec,
    raw_records,
)
from likecast.settings import FIRST_DAY_AGES_MINUTES

HORIZON = 7 * 24 * 60.0


def examples(videos: pd.DataFrame, snapshots: pd.DataFrame) -> pd.DataFrame:
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    per_video = video_rows(videos, labels, 1000, HORIZON, 30)
    return grid_rows(per_video, snapshots, FIRST_DAY_AGES_MINUTES, HORIZON)


def spec_for(rows: pd.DataFrame, videos, snapshots):
    labels = label_videos(videos, snapshots, 1000, HORIZON)
    return spec_for_ages(rows, labels, len(FIRST_DAY_AGES_MINUTES))


def spec_for_ages(rows: pd.DataFrame, labels: pd.DataFrame, ages: int):
    final = pd.Series(np.repeat(labels["likes_at_horizon"].to_numpy(), ages), index=rows.index)
    return fit_spec(rows, final, 1000, HORIZON, "Asia/Shanghai", FIRST_DAY_AGES_MINUTES)


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


def test_history_is_point_in_time(three_posts) -> None:
    videos, snaps = three_posts
    labels = label_videos(videos, snaps, 1000, HORIZON)
    rows = video_rows(videos, labels, 1000, HORIZON, 30).set_index("video_id")
    # video a: the creator's first post, a cold start
    assert rows.loc["a", "hist_videos"] == 0
    assert pd.isna(rows.loc["a", "hist_median_likes"])
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
    assert pd.isna(rows.loc["solo", "hist_last_posted_at"])


def test_unlabeled_videos_have_no_label(three_posts) -> None:
    videos, snaps = three_posts
    labels = label_videos(videos, snaps, 1000, HORIZON).set_index("video_id")
    assert labels.loc["a", "label"] == 1.0
    assert labels.loc["b", "label"] == 0.0
    assert not labels.loc["c", "labeled"]
    assert np.isnan(labels.loc["c", "label"])


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


def test_drafts_observe_nothing_and_growth_uses_earlier_snapshots(small_dataset) -> None:
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    rows = examples(videos.head(50), snapshots)
    drafts = rows[rows["age_minutes"] == 0]
    assert drafts["likes"].isna().all()
    assert drafts["obs_age_minutes"].isna().all()
    hour = rows[rows["age_minutes"] == 60].dropna(subset=["lag2_likes"])
    assert (hour["lag1_age_minutes"] < hour["obs_age_minutes"]).all()
    assert (hour["lag2_age_minutes"] < hour["lag1_age_minutes"]).all()
    assert (hour["obs_age_minutes"] <= 60).all()


TEXTS = [
    "#food #recipe",
    "#a,#b,,#c",
    "  spaced\tout\nlines  ",
    "全角\u3000空格",  # an ideographic space is part of a token for both engines
    "",
    None,
]


@pytest.mark.parametrize("repeat", [1, 20])  # 6 rows: the Python path; 120: the Arrow path
def test_text_counts_agree_between_few_rows_and_many(repeat: int) -> None:
    from features.pipeline import _char_count, _token_count

    values = np.array(TEXTS * repeat, dtype=object)
    tokens, chars = _token_count(values)[: len(TEXTS)], _char_count(values)[: len(TEXTS)]
    np.testing.assert_array_equal(tokens, [2, 3, 3, 1, 0, np.nan])
    np.testing.assert_array_equal(chars, [13, 9, 20, 5, 0, np.nan])


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
def test_local_clock_agrees_between_few_rows_and_many(zone: str) -> None:
    from features.pipeline import _local_clock

    # given instants every 17 minutes across a year, DST changes included
    stamps = pd.date_range("2026-01-01", "2027-01-01", freq="17min", tz="UTC").as_unit("ns")
    utc_ns = stamps.asi8
    # when the clock is read in bulk (pandas) and a few rows at a time (zoneinfo)
    hour, weekday = _local_clock(utc_ns, zone)
    starts = range(0, len(utc_ns), 61)  # windows of 7 rows spread over the whole year
    for i in starts:
        few_hour, few_weekday = _local_clock(utc_ns[i : i + 7], zone)
        np.testing.assert_array_equal(few_hour, hour[i : i + 7])
        np.testing.assert_array_equal(few_weekday, weekday[i : i + 7])
    local = stamps.tz_convert(zone)
    np.testing.assert_allclose(hour, local.hour + local.minute / 60.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(weekday, local.day_of_week)


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 1, 2, 3, 4, 5),  # naive: UTC, as in the data contract
        pd.Timestamp("2026-05-06T07:08:09.123456789Z"),
        None,
        pd.NaT,
    ],
)
def test_request_times_become_the_nanoseconds_pandas_stores(moment) -> None:
    # given a request row whose times are plain datetimes, Timestamps or missing
    row = dict.fromkeys(RAW_COLUMNS, np.nan) | {"posted_at": moment, "hist_last_posted_at": None}
    # when it becomes raw arrays
    raw = raw_records([row])
    # then the time is what pandas stores for it (NaT: the smallest int64)
    stored = pd.to_datetime(pd.Series([moment], dtype=object), utc=True).astype(
        "datetime64[ns, UTC]"
    )
    assert raw["posted_at"][0] == stored.array.asi8[0]
