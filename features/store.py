"""The online creator store: each creator's current history, for the service to look up.

SQLite, embedded, one table. A refresh writes a new table and swaps it in within a single
transaction, so a reader sees either the old table or the new one, never half of either.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.history import history_at
from features.labels import label_videos
from features.loading import Dataset
from features.observations import HISTORY_COLUMNS

TABLE = "creator_history"
CHUNK = 500  # ids per query, well under SQLite's limit on bound parameters


def current_history(
    dataset: Dataset, at: pd.Timestamp, threshold: int, horizon_minutes: float, window: int
) -> pd.DataFrame:
    """Every creator's history as known at ``at``: what a draft posted then would see."""
    labels = label_videos(dataset.videos, dataset.snapshots, threshold, horizon_minutes)
    creators = pd.Series(pd.unique(dataset.videos["creator_id"]), dtype="string")
    times = pd.Series(at, index=creators.index, dtype="datetime64[ns, UTC]")
    history = history_at(
        creators, times, dataset.videos, labels, threshold, horizon_minutes, window
    )
    return pd.concat([creators.rename("creator_id"), history], axis=1)


def write_store(history: pd.DataFrame, path: Path) -> int:
    """Replace the store's table atomically; returns the number of creators written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = history.copy()
    frame["hist_last_posted_at"] = frame["hist_last_posted_at"].map(
        lambda t: None if pd.isna(t) else t.isoformat()
    )
    frame = frame.astype(object).where(frame.notna(), None)
    db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN")
        db.execute(f"DROP TABLE IF EXISTS {TABLE}_next")
        db.execute(
            f"CREATE TABLE {TABLE}_next (creator_id TEXT PRIMARY KEY, hist_videos REAL, "
            "hist_median_likes REAL, hist_p90_likes REAL, hist_hit_rate REAL, "
            "hist_last_posted_at TEXT)"
        )
        db.executemany(
            f"INSERT INTO {TABLE}_next VALUES (?, ?, ?, ?, ?, ?)",
            frame[["creator_id", *HISTORY_COLUMNS]].itertuples(index=False, name=None),
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        db.execute(f"DROP TABLE IF EXISTS {TABLE}")
        db.execute(f"ALTER TABLE {TABLE}_next RENAME TO {TABLE}")
        db.execute("COMMIT")
    finally:
        db.close()
    return len(frame)


class CreatorStore:
    """Read-only lookups by creator_id; a missing store or creator means cold start."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        if self.path.is_file():
            uri = f"file:{self.path.resolve()}?mode=ro"
            self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)

    @property
    def loaded(self) -> bool:
        return self._db is not None

    def creators(self) -> int:
        if self._db is None:
            return 0
        return int(self._db.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone()[0])

    def table(self) -> pd.DataFrame:
        """Every creator's history, indexed by creator_id: batch jobs join it per chunk."""
        columns = ["creator_id", *HISTORY_COLUMNS]
        if self._db is None:
            return pd.DataFrame(columns=columns).set_index("creator_id")
        frame = pd.read_sql_query(f"SELECT {', '.join(columns)} FROM {TABLE}", self._db)
        frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
        return frame.set_index("creator_id")

    def get(self, creator_id: str) -> dict[str, object] | None:
        return self.get_many([creator_id]).get(creator_id)

    def get_many(self, creator_ids: Iterable[str]) -> dict[str, dict[str, object]]:
        """The stored history of each known creator; unknown creators are left out."""
        if self._db is None:
            return {}
        ids = list(creator_ids)
        found: dict[str, dict[str, object]] = {}
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            query = (
                f"SELECT creator_id, {', '.join(HISTORY_COLUMNS)} FROM {TABLE} "
                f"WHERE creator_id IN ({', '.join('?' * len(chunk))})"
            )
            for creator_id, *row in self._db.execute(query, chunk):
                found[creator_id] = _history(row)
        return found


def _history(row: list) -> dict[str, object]:
    """One creator's stored values; the last post time as a plain datetime (None if none).

    Plain datetimes because a batch request reads a thousand creators: parsing each stamp
    with pandas was most of the lookup's cost.
    """
    values = dict(zip(HISTORY_COLUMNS, row, strict=True))
    stamp = values.pop("hist_last_posted_at")
    values = {k: (np.nan if v is None else v) for k, v in values.items()}
    values["hist_last_posted_at"] = datetime.fromisoformat(stamp) if stamp else None
    return values
