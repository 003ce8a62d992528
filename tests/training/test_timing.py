"""When likes arrive: the share per hour of the day measured from the snapshots' timing,
its evening peak on the simulator, and "cannot tell" on data crawled too rarely."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.loading import Dataset
from likecast.settings import Settings
from models.curves import ALL
from training.timing import MIN_GAPS_PER_HOUR, hour_rows, like_timing, timing_of

SIMULATOR_ZONE = "Asia/Shanghai"  # the simulated audience's clock (SimConfig.timezone)
GAP = Settings().timing_max_gap_minutes


def test_the_simulators_evening_peak_shows(small_dataset: Dataset) -> None:
    # given the simulated platform, whose audience is most active 20:00-22:00
    # when the likes' timing is measured on its clock
    timing = like_timing(small_dataset.snapshots, small_dataset.videos, SIMULATOR_ZONE, 7, GAP)
    shares = np.array(timing.groups[ALL].share)
    # then the shares make a day, the two busiest hours in a row lie in the evening, and
    # they hold more than twice an even hour's share
    assert shares.sum() == pytest.approx(1, abs=0.01)
    two = shares + np.roll(shares, -1)
    assert int(np.argmax(two)) in (19, 20, 21, 22)
    assert two.max() / 2 > 2 / 24
    # and the night is the quietest, each hour's interval around its share
    assert int(np.argmin(shares)) in range(2, 9)
    low, high = np.array(timing.groups[ALL].low), np.array(timing.groups[ALL].high)
    assert np.all(low <= shares + 1e-4)
    assert np.all(shares <= high + 1e-4)


def test_a_daily_crawl_cannot_tell(small_dataset: Dataset) -> None:
    # given the same videos seen once a day only (snapshots a day or more apart)
    daily = small_dataset.snapshots[small_dataset.snapshots["age_minutes"] >= 1440]
    # when the timing is measured
    timing = like_timing(daily, small_dataset.videos, SIMULATOR_ZONE, 7, GAP)
    # then no group has one: no peak made of the crawl's own schedule
    assert timing.groups == {}


def hourly_day(videos: int, liked_hour: int, every: int = 1) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Videos seen every ``every`` hours of a day (UTC), gaining 10 likes in ``liked_hour``
    alone."""
    hours = pd.date_range("2026-07-01", periods=25, freq="h", tz="UTC")[::every]
    rows = []
    for v in range(videos):
        for h, at in enumerate(hours):
            rows.append(
                {
                    "video_id": f"v{v}",
                    "observed_at": at,
                    "likes": 10.0 if h * every > liked_hour else 0.0,
                }
            )
    category = ["food" if v % 2 else "music" for v in range(videos)]
    return pd.DataFrame(rows), pd.DataFrame(
        {"video_id": [f"v{v}" for v in range(videos)], "category": category}
    )


@pytest.mark.parametrize(("zone", "hour_there"), [("UTC", 20), ("Asia/Shanghai", 4)])
def test_likes_are_placed_in_the_hour_they_arrived(zone: str, hour_there: int) -> None:
    # given videos whose likes all came between 20:00 and 21:00 UTC
    snapshots, videos = hourly_day(2 * MIN_GAPS_PER_HOUR, liked_hour=20)
    # when timed on a clock
    timing = like_timing(snapshots, videos, zone, 7, GAP)
    # then that hour on that clock holds them all, for all videos and per category
    for key in (ALL, "food", "music"):
        shares = timing.groups[key].share
        assert shares[hour_there] == pytest.approx(1)
        assert sum(shares) == pytest.approx(1)


def test_a_category_with_too_few_videos_has_no_timing_of_its_own() -> None:
    # given enough videos in all, but each category with fewer than an hour's minimum
    snapshots, videos = hourly_day(MIN_GAPS_PER_HOUR + 2, liked_hour=3)
    timing = like_timing(snapshots, videos, "UTC", 7, GAP)
    assert set(timing.groups) == {ALL}


@pytest.mark.parametrize("parts", [2, 5])
def test_partitions_of_whole_videos_give_the_same_timing(
    small_dataset: Dataset, parts: int
) -> None:
    # given the simulated platform split into partitions of whole creators
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    owner = pd.util.hash_array(videos["creator_id"].to_numpy(dtype=object)) % parts
    pieces = []
    for i in range(parts):
        mine = videos[owner == i]
        theirs = snapshots[snapshots["video_id"].astype(str).isin(mine["video_id"])]
        pieces.append(hour_rows(theirs, mine, SIMULATOR_ZONE, GAP))
    # when each partition's rows are merged, the last partition's first
    merged = timing_of(pd.concat(pieces[::-1], ignore_index=True), SIMULATOR_ZONE, 7, GAP)
    # then the timing is the one measured on the whole data, intervals included
    whole = like_timing(snapshots, videos, SIMULATOR_ZONE, 7, GAP)
    assert len(merged.groups) > 1
    assert merged == whole


@pytest.mark.parametrize(("max_gap", "timed"), [(GAP, False), (180.0, True)])
def test_a_crawl_every_three_hours_is_timed_once_the_gap_allows_it(
    max_gap: float, timed: bool
) -> None:
    # given videos seen every 3 hours, all gaining their likes between 18:00 and 21:00 UTC
    snapshots, videos = hourly_day(2 * MIN_GAPS_PER_HOUR, liked_hour=18, every=3)
    # when timed with the longest gap read set below or at their crawl's
    timing = like_timing(snapshots, videos, "UTC", 7, max_gap)
    # then the default cannot tell, while a 3-hour gap spreads them over those three hours
    assert timing.max_gap_minutes == max_gap
    assert (ALL in timing.groups) == timed
    if timed:
        shares = timing.groups[ALL].share
        assert shares[18:21] == pytest.approx([1 / 3] * 3, abs=1e-4)  # kept to 4 decimals
