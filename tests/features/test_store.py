"""The online creator store: current history per creator, swapped in atomically, the same on
both backends (a SQLite file, a PostgreSQL database: the ``store_at`` fixture)."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.history import history_at
from features.labels import label_videos
from features.loading import Dataset
from features.store import (
    PostgresStore,
    StoreRangeError,
    StoreReader,
    Timeline,
    data_end,
    history_as_of,
    history_timeline,
    open_store,
    write_store,
)
from likecast.settings import get_settings
from tests.helpers import free_port, wait_until

HORIZON = 7 * 24 * 60.0


def opened(where: Path | str, check_s: float = 0.0) -> StoreReader:
    """The store at ``where`` as a replica opens it, checking for a new state every
    ``check_s`` seconds."""
    return open_store(get_settings(store_check_s=check_s), where)


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
    small_dataset: Dataset, timeline: Timeline, queries: pd.DataFrame, store_at: Path | str
) -> None:
    # given the store materialized over the whole data
    write_store(timeline, store_at)
    store = opened(store_at)
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
    asked = list(zip(queries["creator_id"], queries["at"].dt.to_pydatetime(), strict=False))
    online = store.get_many(asked)
    one_by_one = [store.get(creator, at) for creator, at in asked[:40]]
    read_back = store.timeline()
    assert read_back is not None
    batch = history_as_of(read_back, queries["creator_id"], queries["at"])
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
    assert one_by_one == online[:40]
    assert store.get_many([]) == []
    assert store.creators() == small_dataset.videos["creator_id"].nunique()
    assert (read_back.oldest, read_back.as_of, read_back.target) == (
        timeline.oldest,
        timeline.as_of,
        timeline.target,
    )


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


def test_a_time_before_the_store_is_refused_with_the_fix(
    timeline: Timeline, store_at: Path | str
) -> None:
    write_store(timeline, store_at)
    store = opened(store_at)
    before = (timeline.oldest - pd.Timedelta(days=1)).to_pydatetime()
    with pytest.raises(StoreRangeError, match="likecast features materialize"):
        store.get("c000001", before)
    with pytest.raises(StoreRangeError, match="oldest state"):
        timeline.check(pd.Series([pd.Timestamp(before)]), "--at")


def test_an_unknown_creator_or_missing_store_means_cold_start(
    timeline: Timeline, store_at: Path | str
) -> None:
    # given a store not materialized yet (no file; an empty database)
    now = timeline.as_of.to_pydatetime()
    absent = opened(store_at)
    assert (absent.loaded, absent.get("anyone", now), absent.timeline()) == (False, None, None)
    # when it is, then a creator it does not know is a cold start
    write_store(timeline, store_at)
    assert opened(store_at).get("nobody", now) is None


def flat(size: int, videos: float) -> Timeline:
    """``size`` creators whose one row each says ``videos``: which write a read saw."""
    rows = pd.DataFrame(
        {
            "creator_id": pd.Series([f"c{i}" for i in range(size)], dtype="string"),
            "valid_from": pd.Timestamp("2026-01-02", tz="UTC"),
            "hist_videos": videos,
            "hist_median_likes": 1.0,
            "hist_p90_likes": 2.0,
            "hist_hit_rate": 0.0,
            "hist_last_posted_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    start, end = pd.Timestamp("2026-01-01", tz="UTC"), pd.Timestamp("2026-02-01", tz="UTC")
    return Timeline(rows, start, end)


def test_readers_never_see_a_half_written_store(store_at: Path | str) -> None:
    # given a store of 6,000 creators that a replica keeps reading, 300 creators at a time
    # (one statement on either backend) and whole
    write_store(flat(6000, 1.0), store_at)
    store = opened(store_at)
    moment = pd.Timestamp("2026-01-20", tz="UTC").to_pydatetime()
    asked = [(f"c{i}", moment) for i in range(0, 3000, 10)]  # in each of the three
    seen: list[set[object]] = []
    whole: set[tuple[int, float]] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            seen.append({None if h is None else h["hist_videos"] for h in store.get_many(asked)})
            if len(seen) % 10 == 0:
                rows = store.timeline()
                assert rows is not None
                whole.add((len(rows.rows), float(rows.rows["hist_videos"].sum())))

    reader = threading.Thread(target=read)
    reader.start()
    try:
        wait_until(lambda: len(seen) > 20, 30, "the reader's first reads")
        # when it is materialized again twice, with more creators and then fewer
        write_store(flat(9000, 2.0), store_at)
        write_store(flat(3000, 3.0), store_at)
        wait_until(lambda: seen[-1] == {3.0}, 30, "a read of the last write")
    finally:
        stop.set()
        reader.join()
    # then every read saw one whole state: never a mix of two, never a creator missing
    assert {frozenset(values) for values in seen} <= {
        frozenset({1.0}),
        frozenset({2.0}),
        frozenset({3.0}),
    }
    assert whole <= {(6000, 6000.0), (9000, 18000.0), (3000, 9000.0)}
    assert opened(store_at).creators() == 3000


@pytest.mark.parametrize(
    "store_at", [pytest.param("postgresql", marks=pytest.mark.server)], indirect=True
)
def test_a_replica_sees_a_new_generation_within_its_check_interval(store_at: str) -> None:
    # given a replica of a PostgreSQL store that checks its generation every 5 s
    now = [0.0]
    write_store(flat(10, 1.0), store_at)
    store = PostgresStore(store_at, 5.0, clock=lambda: now[0])
    first = store.describe()
    # when the store is materialized again, with another span
    later = flat(10, 2.0)
    write_store(Timeline(later.rows, later.oldest, later.as_of + pd.Timedelta(days=1)), store_at)
    moment = pd.Timestamp("2026-01-20", tz="UTC").to_pydatetime()
    now[0] = 4.9
    store.refresh()
    before = (store.generation, store.describe(), store.get("c1", moment))
    now[0] = 5.0
    store.refresh()
    # then its rows are the new generation's at once (read in the same statement as the
    # pointer), and its generation and span are read again once 5 s have passed
    assert "generation 1, history as of 2026-02-01T00:00:00+00:00" in first
    assert before[:2] == (1, first)
    assert before[2] is not None
    assert before[2]["hist_videos"] == 2.0
    assert store.generation == 2
    assert "generation 2, history as of 2026-02-02T00:00:00+00:00" in store.describe()


def test_an_unreachable_postgresql_store_is_unknown_history_and_says_why() -> None:
    # given a store URL where no server listens
    store = PostgresStore(f"postgresql://likecast:secret@127.0.0.1:{free_port()}/none", 0.0)
    # when it is read, then every creator is unknown, and the reason names no password
    assert store.get("c1", pd.Timestamp("2026-01-20", tz="UTC").to_pydatetime()) is None
    assert not store.loaded
    assert "127.0.0.1" in store.trouble
    assert "secret" not in store.trouble + store.where
    assert store.where.startswith("postgresql://likecast:***@127.0.0.1:")


def test_materialize_command_writes_the_store(small_data: Path, store_at: Path | str, cli) -> None:
    # given the store's place: a file given by --store, or the database LIKECAST_STORE_URL names
    where = ["--store", str(store_at)] if isinstance(store_at, Path) else []
    env = {} if isinstance(store_at, Path) else {"LIKECAST_STORE_URL": store_at}
    # when the history is materialized there
    data = ["--data", str(small_data), "--at", "2026-09-01T00:00:00Z"]
    result = cli("features", "materialize", *data, *where, env=env)
    # then it holds every creator, and the command says where it went
    assert result.code == 0, result.err
    assert "wrote the history of" in result.text
    assert str(store_at) in result.text
    assert opened(store_at).creators() > 100
