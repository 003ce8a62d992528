"""The online creator store: current history per creator, swapped in atomically."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.history import history_at
from features.labels import label_videos
from features.loading import Dataset
from features.store import (
    TABLE,
    CreatorStore,
    StoreRangeError,
    Timeline,
    data_end,
    history_as_of,
    history_timeline,
    write_store,
)

HORIZON = 7 * 24 * 60.0


@pytest.fixture(scope="module")
def timeline(small_dataset: Dataset) -> Timeline:
    return history_timeline(small_dataset, data_end(small_dataset), 1000, HORIZON, 30)


@pytest.fixture(scope="module")
def queries(small_dataset: Dataset) -> pd.DataFrame:
    """Creators at random moments of the data's span, a post's own second among them."""
    rng = np.random.default_rng(3)
    videos = small_dataset.videos
    picked = videos.sample(400, random_state=3).reset_index(drop=True)
    jitter = pd.to_timedelta(rng.integers(-20, 20, len(picked)), unit="D")
    times = (picked["posted_at"] + jitter).clip(lower=videos["posted_at"].min())
    times[:50] = picked["posted_at"][:50]  # exactly at a post: that post is not history yet
    return pd.DataFrame({"creator_id": picked["creator_id"].astype("string"), "at": times})


def test_the_store_answers_the_history_training_sees_at_any_moment(
    small_dataset: Dataset, timeline: Timeline, queries: pd.DataFrame, tmp_path: Path
) -> None:
    # given the store materialized over the whole data
    write_store(timeline, tmp_path / "store.sqlite")
    store = CreatorStore(tmp_path / "store.sqlite")
    labels = label_videos(
        small_dataset.videos,
        small_dataset.snapshots,
        1000,
        HORIZON,
        observed_until=data_end(small_dataset),  # as training labels them
    )
    # when creators are looked up at many moments, in the database and in the batch table
    expected = history_at(
        queries["creator_id"], queries["at"], small_dataset.videos, labels, 1000, HORIZON, 30
    )
    online = store.get_many(
        list(zip(queries["creator_id"], queries["at"].dt.to_pydatetime(), strict=False))
    )
    batch = history_as_of(timeline, queries["creator_id"], queries["at"])
    # then both equal the point-in-time history training computes for a video posted then
    assert sum(expected["hist_videos"] > 0) > 100
    for i, want in expected.iterrows():
        got = online[i] or {
            "hist_videos": 0.0,
            "hist_median_likes": np.nan,
            "hist_p90_likes": np.nan,
            "hist_hit_rate": np.nan,
            "hist_last_posted_at": None,
        }
        for frame_value, name in ((batch.loc[i], "batch"), (got, "online")):
            for key in ("hist_videos", "hist_median_likes", "hist_p90_likes", "hist_hit_rate"):
                assert frame_value[key] == pytest.approx(want[key], nan_ok=True), (name, key, i)
            assert pd.Timestamp(frame_value["hist_last_posted_at"]) == pd.Timestamp(
                want["hist_last_posted_at"]
            ) or (
                pd.isna(frame_value["hist_last_posted_at"]) and pd.isna(want["hist_last_posted_at"])
            )
    assert store.creators() == small_dataset.videos["creator_id"].nunique()


def test_a_store_materialized_earlier_knows_nothing_after_it(
    small_dataset: Dataset, timeline: Timeline
) -> None:
    # given the store materialized at a moment in the middle of the data
    middle = small_dataset.videos["posted_at"].quantile(0.5)
    early = history_timeline(small_dataset, middle, 1000, HORIZON, 30)
    creators = small_dataset.videos["creator_id"].astype("string")
    # when every creator is looked up at that moment and a month later
    at_middle = pd.Series(middle, index=creators.index)
    later = pd.Series(middle + pd.Timedelta(days=30), index=creators.index)
    # then at the moment it agrees with the full store, and later it still says the same
    pd.testing.assert_frame_equal(
        history_as_of(early, creators, at_middle), history_as_of(timeline, creators, at_middle)
    )
    pd.testing.assert_frame_equal(
        history_as_of(early, creators, later), history_as_of(early, creators, at_middle)
    )


def test_a_time_before_the_store_is_refused_with_the_fix(timeline: Timeline, tmp_path: Path):
    write_store(timeline, tmp_path / "s.sqlite")
    store = CreatorStore(tmp_path / "s.sqlite")
    before = (timeline.oldest - pd.Timedelta(days=1)).to_pydatetime()
    with pytest.raises(StoreRangeError, match="likecast features materialize"):
        store.get("c000001", before)
    with pytest.raises(StoreRangeError, match="oldest state"):
        timeline.check(pd.Series([pd.Timestamp(before)]), "--at")


def test_an_unknown_creator_or_missing_store_means_cold_start(
    timeline: Timeline, tmp_path: Path
) -> None:
    now = timeline.as_of.to_pydatetime()
    assert CreatorStore(tmp_path / "absent.sqlite").get("anyone", now) is None
    write_store(timeline, tmp_path / "s.sqlite")
    assert CreatorStore(tmp_path / "s.sqlite").get("nobody", now) is None


@pytest.mark.slow  # rewrites a 20,000-creator table while a thread reads it: 8 to 12 s
def test_readers_never_see_a_half_written_table(tmp_path: Path) -> None:
    # given a store of 20k creators that a reader keeps counting
    path = tmp_path / "store.sqlite"

    def table(size: int, videos: float) -> Timeline:
        rows = pd.DataFrame(
            {
                "creator_id": [f"c{i}" for i in range(size)],
                "valid_from": pd.Timestamp("2026-01-02", tz="UTC"),
                "hist_videos": videos,
                "hist_median_likes": 1.0,
                "hist_p90_likes": 2.0,
                "hist_hit_rate": 0.0,
                "hist_last_posted_at": pd.Timestamp("2026-01-01", tz="UTC"),
            }
        )
        return Timeline(
            rows, pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-02-01", tz="UTC")
        )

    write_store(table(20_000, 1.0), path)
    seen: set[tuple[int, float]] = set()
    stop = threading.Event()

    def read() -> None:
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        while not stop.is_set():
            seen.add(db.execute(f"SELECT COUNT(*), SUM(hist_videos) FROM {TABLE}").fetchone())

    reader = threading.Thread(target=read)
    reader.start()
    # when it is replaced twice by tables of other sizes
    write_store(table(30_000, 2.0), path)
    write_store(table(10_000, 3.0), path)
    stop.set()
    reader.join()
    # then every read saw one whole table: never a mix, never a partial one
    assert seen <= {(20_000, 20_000.0), (30_000, 60_000.0), (10_000, 30_000.0)}
    assert CreatorStore(path).creators() == 10_000


def test_materialize_command_writes_the_store(small_data: Path, tmp_path: Path, cli) -> None:
    result = cli(
        "features",
        "materialize",
        "--data",
        str(small_data),
        "--at",
        "2026-09-01T00:00:00Z",
        "--store",
        str(tmp_path / "s.sqlite"),
    )
    assert result.code == 0, result.err
    assert "wrote the history of" in result.text
    assert CreatorStore(tmp_path / "s.sqlite").creators() > 100
