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
from features.store import TABLE, CreatorStore, current_history, write_store

HORIZON = 7 * 24 * 60.0


@pytest.fixture(scope="module")
def now(small_dataset: Dataset) -> pd.Timestamp:
    return small_dataset.videos["posted_at"].max() + pd.Timedelta(days=1)


def test_the_store_holds_what_a_draft_posted_now_would_see(
    small_dataset: Dataset, now: pd.Timestamp, tmp_path: Path
) -> None:
    # given the store materialized as of now
    history = current_history(small_dataset, now, 1000, HORIZON, 30)
    write_store(history, tmp_path / "store.sqlite")
    store = CreatorStore(tmp_path / "store.sqlite")
    # then each creator's row equals the point-in-time history at that moment
    creator = small_dataset.videos["creator_id"].value_counts().index[0]
    labels = label_videos(small_dataset.videos, small_dataset.snapshots, 1000, HORIZON)
    expected = history_at(
        pd.Series([creator]), pd.Series([now]), small_dataset.videos, labels, 1000, HORIZON, 30
    ).iloc[0]
    got = store.get(creator)
    assert got["hist_videos"] == expected["hist_videos"] > 0
    assert got["hist_median_likes"] == pytest.approx(expected["hist_median_likes"])
    assert got["hist_hit_rate"] == pytest.approx(expected["hist_hit_rate"])
    assert got["hist_last_posted_at"] == expected["hist_last_posted_at"]
    assert store.creators() == small_dataset.videos["creator_id"].nunique()


def test_a_batch_lookup_answers_like_single_lookups(
    small_dataset: Dataset, now: pd.Timestamp, tmp_path: Path
) -> None:
    # given a store and more ids than one query takes, some of them unknown
    write_store(current_history(small_dataset, now, 1000, HORIZON, 30), tmp_path / "s.sqlite")
    store = CreatorStore(tmp_path / "s.sqlite")
    known = list(pd.unique(small_dataset.videos["creator_id"]))[:1100]
    ids = known + [f"nobody-{i}" for i in range(50)]
    # when they are looked up in one call
    found = store.get_many(ids)
    # then every known creator is there with its single-lookup values, and no stranger
    assert set(found) == set(known)
    for creator in known[::97]:
        single, batch = store.get(creator), found[creator]
        assert single.keys() == batch.keys()
        for key in single:
            assert single[key] == batch[key] or (pd.isna(single[key]) and pd.isna(batch[key]))


def test_an_unknown_creator_or_missing_store_means_cold_start(tmp_path: Path) -> None:
    assert CreatorStore(tmp_path / "absent.sqlite").get("anyone") is None
    write_store(
        pd.DataFrame(
            {
                "creator_id": ["a"],
                "hist_videos": [2.0],
                "hist_median_likes": [np.nan],
                "hist_p90_likes": [np.nan],
                "hist_hit_rate": [0.5],
                "hist_last_posted_at": [pd.NaT],
            }
        ),
        tmp_path / "s.sqlite",
    )
    store = CreatorStore(tmp_path / "s.sqlite")
    assert store.get("b") is None
    assert np.isnan(store.get("a")["hist_median_likes"])
    assert pd.isna(store.get("a")["hist_last_posted_at"])


def test_readers_never_see_a_half_written_table(tmp_path: Path) -> None:
    # given a store of 20k creators that a reader keeps counting
    path = tmp_path / "store.sqlite"

    def table(size: int, videos: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "creator_id": [f"c{i}" for i in range(size)],
                "hist_videos": videos,
                "hist_median_likes": 1.0,
                "hist_p90_likes": 2.0,
                "hist_hit_rate": 0.0,
                "hist_last_posted_at": pd.Timestamp("2026-01-01", tz="UTC"),
            }
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
    assert "wrote history of" in result.text
    assert CreatorStore(tmp_path / "s.sqlite").creators() > 100
