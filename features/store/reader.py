"""What every creator store answers, whichever database holds it: point-in-time look-ups
of a creator's history, the span and target it was built for, and what it serves from."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from features.rows import HISTORY_COLUMNS
from features.store.timeline import StoreRangeError, Timeline, target_mismatch, too_early
from likecast.errors import StoreTargetError
from likecast.target import Target

Query = tuple[int, str, int]  # (position in the request, creator, moment in epoch seconds)


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


class StoreReader(ABC):
    """Read-only point-in-time look-ups; a missing store or creator means cold start.

    Backends (``features.store.sqlite``, ``features.store.postgres``) say how to find the
    store and its newest state; the look-ups' rules (the oldest moment, cold starts, the
    target) are the same for both.
    """

    where: str  # the store as an operator names it (a file, or a URL without its password)
    oldest: pd.Timestamp | None = None
    as_of: pd.Timestamp | None = None
    target: Target | None = None  # None: written before the target was recorded

    def __init__(self) -> None:
        # each (model target, store target) pair's mismatch, in words: worked out once
        self._problems: dict[tuple[Target, Target | None], str | None] = {}

    @abstractmethod
    def refresh(self) -> None:
        """See a store that appeared or was materialized again since, without a restart."""

    @property
    @abstractmethod
    def loaded(self) -> bool:
        """Whether a store was found and opened."""

    @property
    def trouble(self) -> str:
        """Why the store could not be read, as `` (reason)``; empty when nothing went wrong."""
        return ""

    @abstractmethod
    def describe(self) -> str:
        """The backend, where it is, and which state it serves, in a few words for /readyz."""

    @abstractmethod
    def creators(self) -> int:
        """How many creators the store holds."""

    @abstractmethod
    def timeline(self) -> Timeline | None:
        """The whole store, for batch jobs that look up many creators at many times."""

    @abstractmethod
    def _one(self, creator: str, at: int) -> Sequence[object] | None:
        """The HISTORY_COLUMNS of ``creator``'s latest row at or before ``at``, if any."""

    @abstractmethod
    def _many(self, queries: list[Query]) -> Iterable[tuple[int, Sequence[object]]]:
        """Each query's position and HISTORY_COLUMNS, for those with a row by then."""

    def target_problem(self, model: Target) -> str | None:
        """Why this store cannot serve a model predicting ``model``, in one line; None when
        it can (or when there is no store: every creator is then a cold start)."""
        self.refresh()  # one row: a store materialized since is seen at once
        return self._problem(model)

    def _problem(self, model: Target) -> str | None:
        """``target_problem`` of the store read last, worked out once per target pair."""
        if not self.loaded:
            return None
        key = (model, self.target)
        if key not in self._problems:
            self._problems[key] = target_mismatch(self.target, model, self.where)
        return self._problems[key]

    def histories(self, queries: Sequence[tuple[str, datetime]], model: Target) -> Found:
        """A request's one entry into the store: look again (a store materialized since is
        seen), refuse a store built for another target than ``model``, then the history of
        each (creator, time) the store holds; a time before its oldest state is not looked
        up.

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

    def get(self, creator_id: str, at: datetime) -> dict[str, object] | None:
        """The history of one creator at ``at``; None for a cold start."""
        return self.get_many([(creator_id, at)])[0]

    def get_many(self, queries: Sequence[tuple[str, datetime]]) -> list[dict[str, object] | None]:
        """The history of each (creator, time), in order; None for a cold start.

        Raises ``StoreRangeError`` for a time before the store's oldest state.
        """
        if not queries or not self.loaded or self.oldest is None:
            return [None] * len(queries)
        oldest = self.oldest.to_pydatetime()
        for _, at in queries:
            if at < oldest:
                raise StoreRangeError(too_early("posted_at", at, self.oldest))
        if len(queries) == 1:  # a request: one indexed seek, no table of queries
            creator, at = queries[0]
            row = self._one(creator, int(at.timestamp()))
            return [None if row is None else history(row)]
        found: list[dict[str, object] | None] = [None] * len(queries)
        asked = [(i, creator, int(at.timestamp())) for i, (creator, at) in enumerate(queries)]
        for i, row in self._many(asked):
            found[i] = history(row)
        return found


def history(row: Sequence[object]) -> dict[str, object]:
    """One creator's stored values; the last post time as a plain datetime (None if none).

    Plain datetimes: a batch request reads a thousand creators, and a pandas Timestamp per
    stamp would cost more than the look-up itself. SQLite stores it as ISO text.
    """
    values = dict(zip(HISTORY_COLUMNS, row, strict=True))
    stamp = values.pop("hist_last_posted_at")
    values = {k: (np.nan if v is None else v) for k, v in values.items()}
    values["hist_last_posted_at"] = (
        datetime.fromisoformat(stamp) if isinstance(stamp, str) and stamp else stamp or None
    )
    return values
