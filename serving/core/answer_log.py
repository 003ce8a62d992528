"""The prediction log's writer: every answer as a line of ``home/predictions/*.jsonl``
(``features.prediction_log``), written off the request path.

A request thread only hands over what it already holds (the model's matrix rows, the
answers' numbers, a few ids) as one ``Entry``; a background thread turns entries into JSON
lines and appends them, at least every ``FLUSH_S``. The queue is bounded in rows: when it
is full, a request's entry is dropped and counted (``LogState.dropped``) rather than
making the request wait. Each ``os.write`` carries whole lines to a file opened with
``O_APPEND``, so a worker killed at any moment loses at most what had not been written and
never leaves a torn line inside a file (at worst a broken last line, which reading skips).
Files are rotated by size and by age: a rotated file is closed and never written again.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pydantic_core import to_json

from likecast.settings import Settings

FLUSH_S = 0.5  # the writer's cycle: lines reach the file within about this
# answers a line holds at most: a scored file's chunk becomes lines of bounded size (a
# killed worker's broken last line loses at most these), each still formatted in one go
ROWS_PER_LINE = 1000
FORMAT = 2  # features.prediction_log.FORMAT (not imported here: see NAT below)
# features.arrays.NAT: this module is imported where pandas must not be (BentoML's
# supervisor imports the service's module, docs/adr/0019), so the log's own modules,
# which import it, are imported only where a file is written
NAT = np.iinfo(np.int64).min
# the request id of the answer being made: the HTTP edge sets it (the caller's
# X-Request-ID, or one made for it); an answer made outside a request gets a fresh one
REQUEST_ID: ContextVar[str | None] = ContextVar("likecast_request_id", default=None)
_FILES = itertools.count()  # numbers this process's files, so two opened in one second differ
log = logging.getLogger("likecast.serving")
Column = Sequence[Any] | np.ndarray  # one value per answer: a list, or a numpy array


def request_id() -> str:
    """The current request's id, or a fresh one (uuid4 hex)."""
    return REQUEST_ID.get() or uuid.uuid4().hex


@dataclass(frozen=True, slots=True)
class Entry:
    """Answers as a request thread hands them over: columns, one value per answer.

    ``matrix`` holds the model's inputs as the model saw them (its rows, ``names`` its
    columns); the other sequences are the answers' own values.
    """

    at: float  # time.time() when the answers were made
    request_id: str
    model_version: str
    threshold: int
    horizon_days: float
    names: Sequence[str]
    matrix: np.ndarray
    route: Sequence[str]
    item: Sequence[int] | None  # each answer's index in a batch or a file; None: single
    video_id: Column
    creator_id: Column
    category: Column
    posted_ns: np.ndarray  # int64 UTC nanoseconds, NAT where unknown
    age_minutes: Column
    probability: Column
    low: Column
    high: Column
    reached: Column
    decided: Column
    warnings: Sequence[list[str]] | None

    def __len__(self) -> int:
        return len(self.matrix)

    def key(self) -> tuple[str, int, float, tuple[str, ...]]:
        """What the answers of one line share: the model, its target, its inputs' names."""
        return self.model_version, self.threshold, self.horizon_days, tuple(self.names)

    def columns(self) -> dict[str, list[Any]]:
        """The answers as ``LoggedEntry``'s per-answer columns, plain Python values."""
        n = len(self)
        probability, low, high = _listed(self.probability), _listed(self.low), _listed(self.high)
        for i, lo in enumerate(low):
            if lo != lo:  # no interval (a model saved before them): an empty one at p
                low[i] = high[i] = probability[i]
        return {
            "logged_at": [datetime.fromtimestamp(self.at, UTC).isoformat()] * n,
            "request_id": [self.request_id] * n,
            "route": list(self.route),
            "item": [None] * n if self.item is None else [int(i) for i in _listed(self.item)],
            "video_id": [_text(v) for v in _listed(self.video_id)],
            "creator_id": [_text(v) for v in _listed(self.creator_id)],
            "category": [_text(v) for v in _listed(self.category)],
            "posted_ns": [None if ns == NAT else ns for ns in self.posted_ns.tolist()],
            "age_minutes": [max(0.0, float(a)) for a in _listed(self.age_minutes)],
            "features": self.matrix.tolist(),
            "probability": probability,
            "low": low,
            "high": high,
            "reached": [bool(r) for r in _listed(self.reached)],
            "decided": [bool(d) for d in _listed(self.decided)],
            "warnings": [[]] * n if self.warnings is None else [list(w) for w in self.warnings],
        }


def lines(entries: Sequence[Entry]) -> list[bytes]:
    """Entries as lines of the log (``LoggedEntry``s, format 2), newline included.

    Consecutive entries of one model (a writer cycle's single drafts, most often) share a
    line: columns, the names once, at most ``ROWS_PER_LINE`` answers a line. A thousand
    answers cost one JSON write of lists, not a thousand dicts (docs/adr/0047), and a
    reader parses one line for them. pydantic's JSON writer writes an unknown input (NaN)
    as null."""
    written: list[bytes] = []
    for key, group in itertools.groupby(entries, Entry.key):
        model_version, threshold, horizon_days, names = key
        head = {
            "v": FORMAT,
            "model_version": model_version,
            "threshold": threshold,
            "horizon_days": horizon_days,
            "names": list(names),
        }
        columns: dict[str, list[Any]] = {}
        for entry in group:
            for name, values in entry.columns().items():
                columns.setdefault(name, []).extend(values)
        for start in range(0, len(columns["route"]), ROWS_PER_LINE):
            part = slice(start, start + ROWS_PER_LINE)
            sliced = {name: values[part] for name, values in columns.items()}
            written.append(to_json(head | sliced, inf_nan_mode="null") + b"\n")
    return written


def _listed(column: Column) -> list[Any]:
    """A column as a list of Python values (a numpy array's in one call)."""
    return column.tolist() if isinstance(column, np.ndarray) else list(column)


def _text(value: object) -> str | None:
    """An id or a category as text; None for a missing one (None, NaN, pandas' NA)."""
    return value if isinstance(value, str) else None


@dataclass(frozen=True)
class LogState:
    """The writer after a cycle: what waits, for how long, and what was lost or written."""

    waiting: int  # answers recorded, not yet written
    lag_s: float  # how long the oldest of them has waited; 0 when none
    dropped: int  # answers never written: the queue was full, or writing failed
    written: int  # answers written


class LogWatcher(Protocol):
    """Told of each entry as it is written (in the writer's thread) and of each cycle."""

    def answered(self, entry: Entry) -> None: ...

    def cycled(self, state: LogState) -> None: ...


class AnswerLog:
    """The answers of one process, appended to files in ``folder`` by a background thread.

    Args:
        folder: where the files go; None writes nothing (``LIKECAST_PREDICTION_LOG=off``)
            while watchers still hear of every answer.
        max_bytes: a file that would grow past this is closed and a new one opened.
        max_age_s: a file opened this long ago is closed and a new one opened.
        max_waiting: answers that may wait in memory; beyond, entries are dropped.
        clock: now, in seconds since the epoch (``Entry.at``'s clock): files are named and
            aged by it, and the lag measured; a test passes one it can advance.
    """

    def __init__(
        self,
        folder: Path | None,
        max_bytes: int,
        max_age_s: float,
        max_waiting: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.folder, self.max_bytes, self.max_age_s = folder, max_bytes, max_age_s
        self.max_waiting, self.clock = max_waiting, clock
        self.watchers: list[LogWatcher] = []
        self._pending: deque[Entry] = deque()
        self._waiting = 0
        self._recorded = self._done = 0  # entries taken in, and entries handled, ever
        self._dropped = self._written = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._urgent = False  # someone waits for the writer: no pause before the next cycle
        self._fd: int | None = None
        self._opened = 0.0
        self._size = 0
        self._failed_at = 0.0

    @classmethod
    def of(cls, settings: Settings) -> AnswerLog:
        """The log the settings describe (writing nothing when they turn it off)."""
        from features.prediction_log import log_folder

        return cls(
            log_folder(settings.home) if settings.prediction_log else None,
            settings.prediction_log_max_bytes,
            settings.prediction_log_max_age_s,
            settings.prediction_log_max_waiting,
        )

    def record(self, entry: Entry, wait: bool = False) -> bool:
        """Hand ``entry`` to the writer; False when it was dropped (the queue full).

        ``wait`` waits for room instead (a batch job, whose rows must all be logged).
        """
        with self._changed:
            if self._closed:
                return False
            while wait and self._waiting and self._waiting + len(entry) > self.max_waiting:
                self._urgent = True
                self._changed.notify_all()
                self._changed.wait(FLUSH_S)
            if self._waiting and self._waiting + len(entry) > self.max_waiting:
                self._dropped += len(entry)
                return False
            self._pending.append(entry)
            self._waiting += len(entry)
            self._recorded += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="likecast-answer-log", daemon=True
                )
                self._thread.start()
                atexit.register(self.close)
        return True

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every entry recorded so far is written; False on ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._changed:
            target = self._recorded
            self._urgent = True
            self._changed.notify_all()  # wakes the writer now
            while self._done < target:
                left = deadline - time.monotonic()
                if left <= 0 or self._thread is None:
                    return False
                self._changed.wait(left)
        return True

    def close(self) -> None:
        """Write what waits, stop the writer and close the file."""
        self.flush()
        with self._changed:
            self._closed = True
            self._changed.notify_all()
        if self._thread is not None:
            self._thread.join(FLUSH_S * 4)
        self._close_file()

    @property
    def state(self) -> LogState:
        with self._changed:
            oldest = self._pending[0].at if self._pending else None
            lag = 0.0 if oldest is None else max(0.0, self.clock() - oldest)
            return LogState(self._waiting, lag, self._dropped, self._written)

    # -- the writer's thread -------------------------------------------------------------

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._urgent or self._closed, FLUSH_S)
                self._urgent = False
                state = self.state
                taken = list(self._pending)
                self._pending.clear()
                self._waiting = 0
                closed = self._closed
            for watcher in self.watchers:
                watcher.cycled(state)
            self._handle(taken)
            with self._changed:
                self._done += len(taken)
                self._changed.notify_all()
            if closed and not taken:
                return
            if not taken:
                self._expire()

    def _handle(self, entries: list[Entry]) -> None:
        for entry in entries:
            for watcher in self.watchers:
                watcher.answered(entry)
        if self.folder is None or not entries:
            return
        answers = sum(len(entry) for entry in entries)
        try:
            self._append(lines(entries))
        except OSError as exc:  # a full disk: the answers are lost, the service goes on
            self._close_file()
            with self._changed:
                self._dropped += answers
            if time.monotonic() - self._failed_at > 60:
                self._failed_at = time.monotonic()
                log.warning("prediction log: %d answers not written: %s", answers, exc)
            return
        with self._changed:
            self._written += answers

    def _append(self, data: list[bytes]) -> None:
        """Append lines, each file's share in one write of whole lines."""
        start = 0
        while start < len(data):
            self._expire()
            if self._fd is None:
                self._open()
            assert self._fd is not None
            size, end = self._size, start
            # a file takes lines while they fit; an empty one takes at least one
            while end < len(data) and (
                size + len(data[end]) <= self.max_bytes or (end == start and not self._size)
            ):
                size += len(data[end])
                end += 1
            if end == start:  # full: the next line opens a new file
                self._close_file()
                continue
            chunk = b"".join(data[start:end])
            written = 0
            while written < len(chunk):  # a short write: the rest follows at once
                written += os.write(self._fd, chunk[written:])
            self._size = size
            start = end

    def _expire(self) -> None:
        """Close a file that is full or old: the next line opens a new one."""
        if self._fd is not None and (
            self._size >= self.max_bytes or self.clock() - self._opened >= self.max_age_s
        ):
            self._close_file()

    def _open(self) -> None:
        from features.prediction_log import SUFFIX

        assert self.folder is not None
        self.folder.mkdir(parents=True, exist_ok=True)
        self._opened = self.clock()
        stamp = datetime.fromtimestamp(self._opened, UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{os.getpid()}-{next(_FILES)}{SUFFIX}"
        flags = os.O_WRONLY | os.O_CREAT | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        self._fd = os.open(self.folder / name, flags, 0o640)
        self._size = 0

    def _close_file(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
