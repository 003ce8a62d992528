"""The creator store in a SQLite file, embedded: the default backend.

A materialize writes new tables and swaps them in within a single transaction, so a reader
sees either the old state or the new one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from stat import S_ISREG

import pandas as pd

from features.rows import HISTORY_COLUMNS
from features.store.reader import Query, StoreReader
from features.store.timeline import Timeline, seconds
from likecast.errors import UserError
from likecast.target import Target

TABLE = "creator_history"
META = "creator_history_meta"
CHUNK = 300  # queries per SQL statement: three bound parameters each, under SQLite's limit


def write_sqlite(timeline: Timeline, path: Path) -> int:
    """Replace the store's tables atomically; returns the number of creators written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = timeline.rows.copy()
    frame["valid_from"] = seconds(frame["valid_from"])
    frame["hist_last_posted_at"] = frame["hist_last_posted_at"].map(
        lambda t: None if pd.isna(t) else t.isoformat()
    )
    frame = frame.astype(object).where(frame.notna(), None)
    fresh = not path.exists()
    try:
        db = sqlite3.connect(path, isolation_level=None)  # explicit transactions below
    except sqlite3.OperationalError as exc:  # say, a path under /proc
        raise _store_failure(path, exc) from exc
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("BEGIN")
        db.execute(f"DROP TABLE IF EXISTS {TABLE}_next")
        db.execute(f"DROP TABLE IF EXISTS {META}_next")
        db.execute(
            f"CREATE TABLE {TABLE}_next (creator_id TEXT, valid_from INTEGER, "
            "hist_videos REAL, hist_median_likes REAL, hist_p90_likes REAL, "
            "hist_hit_rate REAL, hist_last_posted_at TEXT, PRIMARY KEY (creator_id, valid_from))"
        )
        db.executemany(
            f"INSERT OR REPLACE INTO {TABLE}_next VALUES (?, ?, ?, ?, ?, ?, ?)",
            frame[["creator_id", "valid_from", *HISTORY_COLUMNS]].itertuples(
                index=False, name=None
            ),
        )
        db.execute(
            f"CREATE TABLE {META}_next (oldest TEXT, as_of TEXT, threshold INTEGER, "
            "horizon_minutes REAL)"
        )
        target = timeline.target
        db.execute(
            f"INSERT INTO {META}_next VALUES (?, ?, ?, ?)",
            (
                timeline.oldest.isoformat(),
                timeline.as_of.isoformat(),
                None if target is None else target.threshold,
                None if target is None else target.horizon_minutes,
            ),
        )
        db.execute("COMMIT")
        db.execute("BEGIN IMMEDIATE")
        for name in (TABLE, META):
            db.execute(f"DROP TABLE IF EXISTS {name}")
            db.execute(f"ALTER TABLE {name}_next RENAME TO {name}")
        db.execute("COMMIT")
        # an empty write-ahead log: a store written elsewhere and moved over a served one
        # must find no pages of another file in the log beside it (docs/facts.md)
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    except BaseException as exc:
        db.close()
        if fresh:  # a failed first write (a full disk) leaves no file that is not a store
            for leftover in (
                path,
                path.with_name(path.name + "-wal"),
                path.with_name(path.name + "-shm"),
            ):
                leftover.unlink(missing_ok=True)
        if isinstance(exc, sqlite3.OperationalError):
            raise _store_failure(path, exc) from exc
        raise
    db.close()
    return int(timeline.rows["creator_id"].nunique())


def _store_failure(path: Path, exc: sqlite3.OperationalError) -> OSError:
    """SQLite's refusal (a full or read-only disk) as an OSError naming the store's file,
    which likecast/failures.py words; SQLite's own message names no file."""
    return OSError(None, str(exc), str(path))


class CreatorStore(StoreReader):
    """The store in a SQLite file (its historic name: the only backend once)."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = Path(path)
        self.where = str(self.path)
        self._db: sqlite3.Connection | None = None
        self._opened: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._version: int | None = None  # the connection's data_version when meta was read
        self.refresh()

    def refresh(self) -> None:
        """Open the store if its file has appeared or was replaced, and read the span and
        target it holds now: a service started before `features materialize` ran, or one
        whose store was materialized again (in place, or elsewhere and moved over it), sees
        it without a restart, its ``as_of`` included.

        An open connection keeps reading the file it opened even once another is renamed
        over its path, so the file's identity (device, inode) is compared on every call, as
        the workers compare ``serving.json``'s (``serving.swap.workers_folder``). A store
        removed and not replaced leaves the open one serving: there is nothing newer. The
        span and target are read again only when another connection has written to the file
        since (SQLite's ``data_version``, docs/facts.md): the service asks before every
        answer, and reading them cost more than the answer's own look-up.
        """
        try:
            stat = os.stat(self.path)
        except OSError:
            stat = None
        if stat is not None and S_ISREG(stat.st_mode):
            opened = (stat.st_dev, stat.st_ino)
            if opened != self._opened:
                # the old connection is left to close once no query holds it: a request in
                # another thread may still be reading from it
                uri = f"file:{self.path.resolve()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, check_same_thread=False)
                self._opened, self._version = opened, None
        if self._db is not None:
            version = self._db.execute("PRAGMA data_version").fetchone()[0]
            if version != self._version:
                self._read_meta()
                self._version = version

    def _read_meta(self) -> None:
        """The span and target the store holds now (a materialize swaps them in while a
        service reads)."""
        assert self._db is not None
        try:
            meta = self._db.execute(f"SELECT * FROM {META}")
            names = [column[0] for column in meta.description]
            stored = dict(zip(names, meta.fetchone(), strict=True))
        except (sqlite3.Error, TypeError) as exc:
            raise UserError(
                f"{self.path}: not a likecast creator store of this version ({exc}); "
                "materialize it again (likecast features materialize --data DIR)"
            ) from exc
        known = stored.get("threshold") is not None and stored.get("horizon_minutes") is not None
        self.oldest, self.as_of = pd.Timestamp(stored["oldest"]), pd.Timestamp(stored["as_of"])
        self.target = (
            Target(int(stored["threshold"]), float(stored["horizon_minutes"])) if known else None
        )

    @property
    def loaded(self) -> bool:
        """Whether a store file was found and opened."""
        return self._db is not None

    def describe(self) -> str:
        """The file and the moment its history reaches."""
        as_of = "?" if self.as_of is None else self.as_of.isoformat()
        return f"sqlite {self.path}, history as of {as_of}"

    def creators(self) -> int:
        if self._db is None:
            return 0
        query = f"SELECT COUNT(DISTINCT creator_id) FROM {TABLE}"
        return int(self._db.execute(query).fetchone()[0])

    def timeline(self) -> Timeline | None:
        if self._db is None or self.oldest is None or self.as_of is None:
            return None
        columns = ["creator_id", "valid_from", *HISTORY_COLUMNS]
        frame = pd.read_sql_query(f"SELECT {', '.join(columns)} FROM {TABLE}", self._db)
        frame["creator_id"] = frame["creator_id"].astype("string")
        frame["valid_from"] = pd.to_datetime(frame["valid_from"], unit="s", utc=True)
        frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
        return Timeline(frame, self.oldest, self.as_of, self.target)

    def _one(self, creator: str, at: int) -> Sequence[object] | None:
        assert self._db is not None
        row: Sequence[object] | None = self._db.execute(
            f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {TABLE} WHERE creator_id = ? "
            "AND valid_from <= ? ORDER BY valid_from DESC LIMIT 1",
            (creator, at),
        ).fetchone()
        return row

    def _many(self, queries: list[Query]) -> Iterator[tuple[int, Sequence[object]]]:
        assert self._db is not None
        for start in range(0, len(queries), CHUNK):
            chunk = queries[start : start + CHUNK]
            values = ", ".join("(?, ?, ?)" for _ in chunk)
            params = [p for query in chunk for p in query]
            query = (
                f"WITH q(i, creator_id, t) AS (VALUES {values}) "
                f"SELECT q.i, {', '.join(f'h.{c}' for c in HISTORY_COLUMNS)} FROM q "
                f"JOIN {TABLE} h ON h.creator_id = q.creator_id AND h.valid_from = ("
                f"SELECT MAX(valid_from) FROM {TABLE} "
                "WHERE creator_id = q.creator_id AND valid_from <= q.t)"
            )
            for i, *row in self._db.execute(query, params):
                yield i, row
