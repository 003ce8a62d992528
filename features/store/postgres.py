"""The creator store on PostgreSQL: one store that every replica, on any machine, reads.

Each materialize is a generation: its rows go into ``creator_history`` under a new number
and, in the same transaction, the one-row ``creator_store`` table points at it, with the
span and target it was built for; older generations are deleted once it is committed. Every
look-up reads the pointer in the same statement as the rows, so it sees one generation
whole, the old or the new, never a mix (docs/adr/0051). A replica reads the pointer's span,
target and number at most every ``store_check_s`` seconds rather than before every answer,
which would double each answer's round trips to the database.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Sequence

import pandas as pd
import psycopg

from features.rows import HISTORY_COLUMNS
from features.store.reader import Query, StoreReader
from features.store.timeline import Timeline, seconds
from likecast.errors import UserError
from likecast.redact import redact, redact_text
from likecast.target import Target

HISTORY = "creator_history"
STATE = "creator_store"
CURRENT = f"(SELECT generation FROM {STATE})"  # the generation readers see, in their statement
COLUMNS = ["creator_id", "valid_from", *HISTORY_COLUMNS]
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {HISTORY} (generation BIGINT NOT NULL, "
    "creator_id TEXT NOT NULL, valid_from BIGINT NOT NULL, hist_videos DOUBLE PRECISION, "
    "hist_median_likes DOUBLE PRECISION, hist_p90_likes DOUBLE PRECISION, "
    "hist_hit_rate DOUBLE PRECISION, hist_last_posted_at TIMESTAMPTZ, "
    "PRIMARY KEY (generation, creator_id, valid_from))",
    f"CREATE TABLE IF NOT EXISTS {STATE} (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one), "
    "generation BIGINT NOT NULL, oldest TIMESTAMPTZ NOT NULL, as_of TIMESTAMPTZ NOT NULL, "
    "threshold INTEGER, horizon_minutes DOUBLE PRECISION, "
    "written_at TIMESTAMPTZ NOT NULL DEFAULT now())",
)
STATE_QUERY = f"SELECT generation, oldest, as_of, threshold, horizon_minutes FROM {STATE}"


def is_postgres(where: object) -> bool:
    """Whether ``where`` names a PostgreSQL store rather than a SQLite file."""
    return isinstance(where, str) and where.startswith(("postgresql://", "postgres://"))


def _connect(url: str, autocommit: bool) -> psycopg.Connection:
    """A session whose timestamps come back in UTC, as the SQLite store's do."""
    try:
        db = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.Error as exc:
        raise UserError(f"creator store {redact(url)}: {_reason(exc)}") from exc
    db.execute("SET TIME ZONE 'UTC'")
    if not autocommit:
        db.commit()  # the setting stays for the session; the caller's transaction starts clean
    return db


def _reason(exc: BaseException) -> str:
    """The database's message, on one line."""
    return redact_text(" ".join(str(exc).split())) or type(exc).__name__


def write_postgres(timeline: Timeline, url: str) -> int:
    """Write ``timeline`` as a new generation and point readers at it in the same
    transaction; delete older generations after. Returns the number of creators written."""
    frame = timeline.rows[COLUMNS].copy()
    frame["valid_from"] = seconds(frame["valid_from"])
    frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
    frame = frame.astype(object).where(frame.notna(), None)
    target = timeline.target
    with _connect(url, autocommit=False) as db:
        try:
            for statement in SCHEMA:
                db.execute(statement)
            # one materialize at a time; readers (ACCESS SHARE) are not held up
            db.execute(f"LOCK TABLE {STATE} IN SHARE ROW EXCLUSIVE MODE")
            row = db.execute(f"SELECT generation FROM {STATE}").fetchone()
            generation = 1 if row is None else int(row[0]) + 1
            with db.cursor().copy(
                f"COPY {HISTORY} (generation, {', '.join(COLUMNS)}) FROM STDIN"
            ) as copy:
                for values in frame.itertuples(index=False, name=None):
                    copy.write_row((generation, *values))
            db.execute(
                f"INSERT INTO {STATE} (one, generation, oldest, as_of, threshold, "
                "horizon_minutes) VALUES (TRUE, %s, %s, %s, %s, %s) ON CONFLICT (one) DO "
                "UPDATE SET generation = excluded.generation, oldest = excluded.oldest, "
                "as_of = excluded.as_of, threshold = excluded.threshold, "
                "horizon_minutes = excluded.horizon_minutes, written_at = now()",
                (
                    generation,
                    timeline.oldest.to_pydatetime(),
                    timeline.as_of.to_pydatetime(),
                    None if target is None else target.threshold,
                    None if target is None else target.horizon_minutes,
                ),
            )
            db.commit()
            # readers past the switch read only the new generation; one still reading an
            # older one keeps its statement's snapshot of it
            db.execute(f"DELETE FROM {HISTORY} WHERE generation < %s", (generation,))
            db.commit()
        except psycopg.Error as exc:
            raise UserError(f"creator store {redact(url)}: {_reason(exc)}") from exc
    return int(timeline.rows["creator_id"].nunique())


class PostgresStore(StoreReader):
    """The store in a PostgreSQL database, shared by every replica.

    Args:
        url: the database (postgresql://user:password@host:port/name).
        check_s: the most seconds between two reads of the store's generation.
        clock: seconds on a monotonic clock (injected by tests).
    """

    def __init__(
        self, url: str, check_s: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.url, self.where = url, redact(url)
        self.check_s, self._clock = check_s, clock
        self._db: psycopg.Connection | None = None
        self._lock = threading.Lock()  # one thread (re)connects at a time
        self._checked: float | None = None
        self._trouble = ""
        self.generation: int | None = None  # None: nothing materialized yet, or unreachable
        self.refresh()

    def _connection(self) -> psycopg.Connection:
        with self._lock:
            if self._db is None or self._db.closed:
                self._db = _connect(self.url, autocommit=True)
            return self._db

    def _lost(self, exc: BaseException) -> None:
        """Forget the state read: until the database answers again, every creator's
        history is unknown, and /readyz says why."""
        self.generation, self._trouble = None, f" ({_reason(exc)})"
        with self._lock:
            if self._db is not None:
                self._db.close()
            self._db = None

    def refresh(self) -> None:
        """Read the pointer (generation, span, target) if ``check_s`` has passed since the
        last read: a materialize is seen within that time, without a restart."""
        now = self._clock()
        if self._checked is not None and now - self._checked < self.check_s:
            return
        self._checked = now
        try:
            row = self._connection().execute(STATE_QUERY).fetchone()
        except psycopg.errors.UndefinedTable:
            row = None  # never materialized: as a SQLite file not there yet
        except (psycopg.Error, UserError) as exc:
            self._lost(exc)
            return
        self._trouble = ""
        self._adopt(row)

    def _adopt(self, row: Sequence[object] | None) -> None:
        if row is None:
            self.generation = None
            return
        generation, oldest, as_of, threshold, horizon = row
        self.generation = int(generation)  # type: ignore[call-overload]
        self.oldest = pd.Timestamp(oldest).tz_convert("UTC")  # type: ignore[arg-type]
        self.as_of = pd.Timestamp(as_of).tz_convert("UTC")  # type: ignore[arg-type]
        known = threshold is not None and horizon is not None
        self.target = Target(int(threshold), float(horizon)) if known else None  # type: ignore[call-overload, arg-type]

    @property
    def loaded(self) -> bool:
        return self.generation is not None

    @property
    def trouble(self) -> str:
        return self._trouble

    def describe(self) -> str:
        as_of = "?" if self.as_of is None else self.as_of.isoformat()
        return f"postgresql {self.where}, generation {self.generation}, history as of {as_of}"

    def creators(self) -> int:
        if not self.loaded:
            return 0
        query = f"SELECT COUNT(DISTINCT creator_id) FROM {HISTORY} WHERE generation = {CURRENT}"
        try:
            row = self._connection().execute(query).fetchone()
        except (psycopg.OperationalError, UserError) as exc:
            self._lost(exc)
            return 0
        return 0 if row is None else int(row[0])

    def timeline(self) -> Timeline | None:
        """The whole store as of one generation: its pointer and rows read in one
        repeatable-read transaction."""
        with _connect(self.url, autocommit=False) as db:
            db.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            try:
                state = db.execute(STATE_QUERY).fetchone()
            except psycopg.errors.UndefinedTable:
                return None
            self._adopt(state)
            if state is None or self.oldest is None or self.as_of is None:
                return None
            cursor = db.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {HISTORY} WHERE generation = %s",
                (self.generation,),
            )
            frame = pd.DataFrame(cursor.fetchall(), columns=COLUMNS)
        frame["creator_id"] = frame["creator_id"].astype("string")
        frame["valid_from"] = pd.to_datetime(
            frame["valid_from"].astype("int64"), unit="s", utc=True
        )
        frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
        for name in HISTORY_COLUMNS[:-1]:
            frame[name] = frame[name].astype("float64")
        return Timeline(frame, self.oldest, self.as_of, self.target)

    def _one(self, creator: str, at: int) -> Sequence[object] | None:
        try:
            row: Sequence[object] | None = (
                self._connection()
                .execute(
                    f"SELECT {', '.join(HISTORY_COLUMNS)} FROM {HISTORY} "
                    f"WHERE generation = {CURRENT} AND creator_id = %s AND valid_from <= %s "
                    "ORDER BY valid_from DESC LIMIT 1",
                    (creator, at),
                )
                .fetchone()
            )
        except (psycopg.OperationalError, UserError) as exc:
            self._lost(exc)
            return None
        return row

    def _many(self, queries: list[Query]) -> Iterable[tuple[int, Sequence[object]]]:
        """One statement for every query: the arrays unnested against the current
        generation's rows, each creator's latest at or before its moment."""
        positions, creators, moments = (list(column) for column in zip(*queries, strict=True))
        try:
            rows = (
                self._connection()
                .execute(
                    f"SELECT q.i, {', '.join(f'h.{c}' for c in HISTORY_COLUMNS)} "
                    "FROM unnest(%s::int[], %s::text[], %s::bigint[]) AS q(i, creator_id, t) "
                    f"CROSS JOIN LATERAL (SELECT * FROM {HISTORY} WHERE generation = {CURRENT} "
                    "AND creator_id = q.creator_id AND valid_from <= q.t "
                    "ORDER BY valid_from DESC LIMIT 1) h",
                    (positions, creators, moments),
                )
                .fetchall()
            )
        except (psycopg.OperationalError, UserError) as exc:
            self._lost(exc)
            return []
        return [(int(i), row) for i, *row in rows]
