"""The online creator store: each creator's history at every moment, for point-in-time
look-ups, in a SQLite file (the default) or a PostgreSQL database that replicas share.

``timeline`` computes the history, ``reader`` is what every store answers, ``sqlite`` and
``postgres`` hold it. A materialize swaps a whole new state in at once: readers see the old
history or the new one, never a mix.
"""

from __future__ import annotations

from pathlib import Path

from features.store.postgres import PostgresStore, is_postgres, write_postgres
from features.store.reader import Found, StoreReader, StoreTargetError
from features.store.sqlite import META, TABLE, CreatorStore, write_sqlite
from features.store.timeline import (
    StoreRangeError,
    Timeline,
    before_store,
    data_end,
    history_as_of,
    history_timeline,
    target_mismatch,
    too_early,
)
from likecast.settings import Settings

__all__ = [
    "META",
    "TABLE",
    "CreatorStore",
    "Found",
    "PostgresStore",
    "StoreRangeError",
    "StoreReader",
    "StoreTargetError",
    "Timeline",
    "before_store",
    "data_end",
    "history_as_of",
    "history_timeline",
    "open_store",
    "target_mismatch",
    "too_early",
    "write_store",
]


def open_store(settings: Settings, where: Path | str | None = None) -> StoreReader:
    """The creator store at ``where`` (default: the settings' ``store_location``)."""
    where = settings.store_location if where is None else where
    if is_postgres(where):
        return PostgresStore(str(where), settings.store_check_s)
    return CreatorStore(Path(where))


def write_store(timeline: Timeline, where: Path | str) -> int:
    """Swap ``timeline`` into the store at ``where`` (a SQLite file or a PostgreSQL URL);
    returns the number of creators written."""
    if is_postgres(where):
        return write_postgres(timeline, str(where))
    return write_sqlite(timeline, Path(where))
