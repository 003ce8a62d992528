"""The online creator store: each creator's history at every moment, for point-in-time look-ups.

A creator's history (``features.history``) changes only when one of its videos is posted or
closes its horizon. The store keeps one row per such change, ``valid_from`` that moment, so
the history as of any time t is the creator's latest row at or before t: a draft planned for
t, or a backtest at t, sees exactly what training saw for a video posted at t, and nothing
that happened later. SQLite, embedded; a refresh writes new tables and swaps them in within
a single transaction, so a reader sees either the old state or the new one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from stat import S_ISREG

import numpy as np
import pandas as pd

from features.history import history_at
from features.labels import label_videos
from features.loading import Dataset
from features.rows import HISTORY_COLUMNS
from likecast.errors import UserError
from likecast.target import Target

TABLE = "creator_history"
META = "creator_history_meta"
CHUNK = 300  # queries per SQL statement: three bound parameters each, under SQLite's limit
EVENTS_PER_PASS = 200_000  # history_at holds a window of likes per query: bound its memory


class StoreRangeError(UserError):
    """A time before the store's oldest state: its history is not known."""


class StoreTargetError(RuntimeError):
    """The store was built for another target than the model's: its history would answer
    another question. Not the request's fault (a 503, not a 400)."""


@dataclass(frozen=True)
class Found:
    """What the store knows of a request's creators as of their posting times.

    ``histories[i]`` is query i's history (None: a cold start, or not looked up);
    ``looked_up[i]`` is False for a time before the store's ``oldest`` state, which has no
    history to look up.
    """

    histories: list[dict[str, object] | None]
    looked_up: list[bool]
    oldest: pd.Timestamp | None


@dataclass(frozen=True)
class Timeline:
    """Every creator's history after each change, and the span of time it covers."""

    rows: pd.DataFrame  # creator_id, valid_from (UTC), HISTORY_COLUMNS
    oldest: pd.Timestamp  # the data's first post: before it, nothing is known
    as_of: pd.Timestamp  # the data's end: later changes are not in the store
    # what its hit rates count as a hit; None for a store written before it was recorded
    target: Target | None = None

    def check(self, times: pd.Series, what: str) -> None:
        """Refuse times before the oldest state, in one line that says how to fix it."""
        early = times < self.oldest
        if early.any():
            raise StoreRangeError(too_early(what, times[early].min(), self.oldest))


def before_store(oldest: pd.Timestamp) -> str:
    """Why a moment before ``oldest`` has no history, and the command that fixes it."""
    return (
        f"before the creator store's oldest state ({oldest.isoformat()}): materialize the "
        "store from data that reaches back that far (likecast features materialize --data DIR)"
    )


def too_early(what: str, moment: pd.Timestamp | datetime, oldest: pd.Timestamp) -> str:
    """The one-line error for ``what`` at ``moment``, before the store's oldest state."""
    return f"{what}: {pd.Timestamp(moment).isoformat()} is {before_store(oldest)}"


def target_mismatch(stored: Target | None, model: Target, path: Path) -> str | None:
    """Why a store built for ``stored`` cannot serve a model predicting ``model``; None when
    it can. Its hit rates count hits of its own target: another model's answers built on them
    would credit a creator with the wrong past (docs/adr/0037)."""
    again = f"materialize it again: likecast features materialize --data DIR {model.options()}"
    if stored is None:
        return f"creator store {path} records no target (written by an older likecast); {again}"
    if stored == model:
        return None
    return f"creator store {path} was built for {stored}, the model predicts {model}; {again}"


def data_end(dataset: Dataset) -> pd.Timestamp:
    """The last moment the data knows of: its latest post or snapshot."""
    ends = [dataset.videos["posted_at"].max()]
    if len(dataset.snapshots):
        ends.append(dataset.snapshots["observed_at"].max())
    return max(ends)


def history_timeline(
    dataset: Dataset,
    as_of: pd.Timestamp,
    threshold: int,
    horizon_minutes: float,
    window: int,
) -> Timeline:
    """Every creator's history after each post and each close up to ``as_of``."""
    videos = dataset.videos
    labels = label_videos(
        videos, dataset.snapshots, threshold, horizon_minutes, observed_until=data_end(dataset)
    )
    posted = videos["posted_at"]
    closes = posted + pd.Timedelta(minutes=horizon_minutes)
    # a post is history from the next second on (history counts posts strictly before t);
    # a close counts from its own second on
    one_second = pd.Timedelta(seconds=1)
    posts = pd.DataFrame({"creator_id": videos["creator_id"], "at": posted.dt.floor("s")})
    posts = posts[posted < as_of].assign(at=lambda f: f["at"] + one_second)
    closed = labels["labeled"].to_numpy() & (closes <= as_of).to_numpy()
    shut = pd.DataFrame({"creator_id": videos["creator_id"], "at": closes.dt.floor("s")})[closed]
    events = pd.concat([posts, shut], ignore_index=True)
    events = events.drop_duplicates().sort_values(["creator_id", "at"], ignore_index=True)
    parts = []
    for start in range(0, len(events), EVENTS_PER_PASS):
        part = events.iloc[start : start + EVENTS_PER_PASS]
        states = history_at(
            part["creator_id"].astype("string"),
            part["at"],
            videos,
            labels,
            threshold,
            horizon_minutes,
            window,
        )
        parts.append(pd.concat([part.rename(columns={"at": "valid_from"}), states], axis=1))
    rows = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["creator_id", "valid_from", *HISTORY_COLUMNS])
    )
    rows["creator_id"] = rows["creator_id"].astype("string")
    return Timeline(rows, posted.min(), as_of, Target(int(threshold), float(horizon_minutes)))


def history_as_of(timeline: Timeline, creators: pd.Series, times: pd.Series) -> pd.DataFrame:
    """Each (creator, time)'s history: its creator's latest row at or before the time.

    A creator without a row by then is a cold start (``features.history.COLD_START``).
    """
    rows = timeline.rows
    codes = pd.Index(pd.unique(rows["creator_id"]))
    r_code = codes.get_indexer(pd.Index(rows["creator_id"])).astype(np.int64)
    r_sec = _seconds(rows["valid_from"])
    order = np.lexsort((r_sec, r_code))
    r_code, r_sec = r_code[order], r_sec[order]
    q_code = codes.get_indexer(pd.Index(creators.astype("string"))).astype(np.int64)
    q_sec = _seconds(times)
    shift = np.int64(2**33)
    pos = np.searchsorted(r_code * shift + r_sec, q_code * shift + q_sec, side="right") - 1
    found = (pos >= 0) & (q_code >= 0)
    found &= r_code[np.maximum(pos, 0)] == q_code if len(r_code) else False
    picked = rows.iloc[order].iloc[np.maximum(pos, 0)] if len(rows) else None
    out = {}
    for name in HISTORY_COLUMNS:
        if picked is None:
            values = pd.Series([None] * len(q_code))
        else:
            values = picked[name].reset_index(drop=True).where(pd.Series(found))
        out[name] = values.to_numpy()
    frame = pd.DataFrame(out, index=creators.index)
    frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
    for name in HISTORY_COLUMNS[:-1]:
        frame[name] = frame[name].astype("float64")
    frame["hist_videos"] = frame["hist_videos"].fillna(0.0)
    return frame


def _seconds(stamps: pd.Series) -> np.ndarray:
    utc = pd.Series(stamps).astype("datetime64[ns, UTC]")
    return (utc.astype("int64") // 10**9).to_numpy(dtype=np.int64)


def write_store(timeline: Timeline, path: Path) -> int:
    """Replace the store's tables atomically; returns the number of creators written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    frame = timeline.rows.copy()
    frame["valid_from"] = _seconds(frame["valid_from"])
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


class CreatorStore:
    """Read-only point-in-time look-ups; a missing store or creator means cold start."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db: sqlite3.Connection | None = None
        self._opened: tuple[int, int] | None = None  # (device, inode) of the file opened
        self._version: int | None = None  # the connection's data_version when meta was read
        self.oldest: pd.Timestamp | None = None
        self.as_of: pd.Timestamp | None = None
        self.target: Target | None = None  # None: written before the target was recorded
        # each model target's mismatch with the store held now: checked once per (re)load
        self._problems: dict[Target, str | None] = {}
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
        self._problems = {}

    @property
    def loaded(self) -> bool:
        """Whether a store file was found and opened."""
        return self._db is not None

    def target_problem(self, model: Target) -> str | None:
        """Why this store cannot serve a model predicting ``model``, in one line; None when
        it can (or when there is no store file: every creator is then a cold start)."""
        self.refresh()  # one row: a store materialized since is seen at once
        return self._problem(model)

    def _problem(self, model: Target) -> str | None:
        """``target_problem`` of the store read last, worked out once per (re)load."""
        if self._db is None:
            return None
        if model not in self._problems:
            self._problems[model] = target_mismatch(self.target, model, self.path)
        return self._problems[model]

    def histories(self, queries: Sequence[tuple[str, datetime]], model: Target) -> Found:
        """A request's one entry into the store: look again (a store materialized since is
        seen at once), refuse a store built for another target than ``model``, then the
        history of each (creator, time) the store holds; a time before its oldest state is
        not looked up.

        Raises:
            StoreTargetError: the store was built for another target.
        """
        self.refresh()
        problem = self._problem(model)
        if problem is not None:
            raise StoreTargetError(problem)
        oldest = self.oldest
        looked_up = [oldest is None or at >= oldest for _, at in queries]
        found = iter(self.get_many([q for q, ok in zip(queries, looked_up, strict=True) if ok]))
        return Found([next(found) if ok else None for ok in looked_up], looked_up, oldest)

    def creators(self) -> int:
        """How many creators the store holds."""
        if self._db is None:
            return 0
        query = f"SELECT COUNT(DISTINCT creator_id) FROM {TABLE}"
        return int(self._db.execute(query).fetchone()[0])

    def timeline(self) -> Timeline | None:
        """The whole store, for batch jobs that look up many creators at many times."""
        if self._db is None or self.oldest is None or self.as_of is None:
            return None
        columns = ["creator_id", "valid_from", *HISTORY_COLUMNS]
        frame = pd.read_sql_query(f"SELECT {', '.join(columns)} FROM {TABLE}", self._db)
        frame["creator_id"] = frame["creator_id"].astype("string")
        frame["valid_from"] = pd.to_datetime(frame["valid_from"], unit="s", utc=True)
        frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
        return Timeline(frame, self.oldest, self.as_of, self.target)

    def get(self, creator_id: str, at: datetime) -> dict[str, object] | None:
        """The history of one creator at ``at``; None for a cold start."""
        return self.get_many([(creator_id, at)])[0]

    def get_many(self, queries: Sequence[tuple[str, datetime]]) -> list[dict[str, object] | None]:
        """The history of each (creator, time), in order; None for a cold start.

        Raises ``StoreRangeError`` for a time before the store's oldest state.
        """
        if self._db is None or self.oldest is None:
            return [None] * len(queries)
        oldest = self.oldest.to_pydatetime()
        for _, at in queries:
            if at < oldest:
                raise StoreRangeError(too_early("posted_at", at, self.oldest))
        if len(queries) == 1:  # a request: one indexed seek, no table of queries
            creator, at = queries[0]
            row = self._db.execute(
                f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {TABLE} WHERE creator_id = ? "
                "AND valid_from <= ? ORDER BY valid_from DESC LIMIT 1",
                (creator, int(at.timestamp())),
            ).fetchone()
            return [None if row is None else _history(list(row))]
        found: list[dict[str, object] | None] = [None] * len(queries)
        for start in range(0, len(queries), CHUNK):
            chunk = queries[start : start + CHUNK]
            values = ", ".join("(?, ?, ?)" for _ in chunk)
            params = [
                p
                for i, (creator, at) in enumerate(chunk, start)
                for p in (i, creator, int(at.timestamp()))
            ]
            query = (
                f"WITH q(i, creator_id, t) AS (VALUES {values}) "
                f"SELECT q.i, {', '.join(f'h.{c}' for c in HISTORY_COLUMNS)} FROM q "
                f"JOIN {TABLE} h ON h.creator_id = q.creator_id AND h.valid_from = ("
                f"SELECT MAX(valid_from) FROM {TABLE} "
                "WHERE creator_id = q.creator_id AND valid_from <= q.t)"
            )
            for i, *row in self._db.execute(query, params):
                found[i] = _history(row)
        return found


def _history(row: list) -> dict[str, object]:
    """One creator's stored values; the last post time as a plain datetime (None if none).

    Plain datetimes: a batch request reads a thousand creators, and a pandas Timestamp per
    stamp would cost more than the look-up itself.
    """
    values = dict(zip(HISTORY_COLUMNS, row, strict=True))
    stamp = values.pop("hist_last_posted_at")
    values = {k: (np.nan if v is None else v) for k, v in values.items()}
    values["hist_last_posted_at"] = datetime.fromisoformat(stamp) if stamp else None
    return values
