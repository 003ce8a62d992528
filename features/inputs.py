"""The two ways into the model's features: requests, and a file's videos at their ages.

Each caller hands its input to one function here, which looks up the creators' history,
the counts by each age and the raw arrays, and returns the model's matrix: the serving core
(``request_rows``, and ``variants`` for the what-if) and batch scoring (``file_rows``) know
nothing of the steps inside.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np
import pandas as pd

from features.answerable import unanswerable
from features.arrays import RowArrays, column_arrays, frame_arrays, nanoseconds
from features.history import COLD_START
from features.matrix import beyond, clamp, feature_matrix
from features.rows import (
    DRAFT_COLUMNS,
    HISTORY_COLUMNS,
    RAW_COLUMNS,
    SeenCounts,
    cold_start_history,
    draft_rows,
    observe_requests,
    rows_at_ages,
    with_history,
)
from features.spec import FeatureSpec
from features.store import StoreReader, Timeline, history_as_of


@dataclass(frozen=True)
class Asked:
    """One request as the features read it.

    Args:
        draft: the request's value of each ``DRAFT_COLUMNS`` name but ``posted_at``.
        posted_at: its posting time, in UTC.
        age_minutes: the age it asks about (0 for a draft).
        history: what the caller knows better than the store, by ``HISTORY_COLUMNS`` name.
        counts: the counts at its age and before; None for a draft.
    """

    draft: Mapping[str, object]
    posted_at: datetime
    age_minutes: float
    history: Mapping[str, object] = field(default_factory=dict)
    counts: SeenCounts | None = None


@dataclass(frozen=True)
class Rows:
    """Rows as the model reads them.

    ``arrays`` are the raw columns, ``matrix`` the model's features (clamped to the training
    ranges), ``outside`` the values that lay beyond those ranges before (NaN where within),
    ``why`` why a row cannot be answered ("" where it can, ``features.answerable``).
    ``stored`` says which rows' history the creator store gave, ``looked_up`` which rows it
    was asked for (not those posted before its oldest state).
    """

    arrays: RowArrays
    matrix: np.ndarray
    outside: np.ndarray
    why: np.ndarray
    stored: np.ndarray
    looked_up: np.ndarray

    def only(self, keep: np.ndarray) -> Rows:
        """The rows ``keep`` marks."""
        return Rows(
            {name: values[keep] for name, values in self.arrays.items()},
            self.matrix[keep],
            self.outside[keep],
            self.why[keep],
            self.stored[keep],
            self.looked_up[keep],
        )


def request_rows(asked: Sequence[Asked], store: StoreReader, spec: FeatureSpec) -> Rows:
    """Requests -> their rows: each creator's history as of posting (the store's, with what
    the request knows better on top), the counts at its age, the raw arrays and the matrix.

    A request posted before the store's oldest state has no history to look up: it is a
    cold start, and ``why`` refuses it unless its counts already reach the threshold.

    Raises:
        StoreTargetError: the store was built for another target than the spec's.
    """
    found = store.histories([(str(a.draft["creator_id"]), a.posted_at) for a in asked], spec.target)
    stored, oldest = found.histories, found.oldest
    looked_up = np.array(found.looked_up, dtype=bool)
    histories = [{**(s or COLD_START), **a.history} for a, s in zip(asked, stored, strict=True)]
    columns: dict[str, list[object]] = {"video_id": list(range(len(asked)))}
    for name in DRAFT_COLUMNS:
        columns[name] = [a.posted_at if name == "posted_at" else a.draft[name] for a in asked]
    for name in HISTORY_COLUMNS:
        columns[name] = [h[name] for h in histories]
    ages = [a.age_minutes for a in asked]
    columns["age_minutes"] = list(ages)
    arrays = column_arrays(columns)
    arrays.update(observe_requests([a.counts for a in asked], ages, spec.horizon_minutes))
    matrix = feature_matrix(arrays, spec, clamped=False)
    outside = np.where(beyond(matrix, spec), matrix, np.nan)
    clamp(matrix, spec)
    why = unanswerable(arrays, spec.threshold, spec.horizon_minutes, oldest)
    found_any = np.array([s is not None for s in stored], dtype=bool)
    return Rows(arrays, matrix, outside, why, found_any, looked_up)


def variants(
    arrays: RowArrays, spec: FeatureSpec, posted: Sequence[datetime], durations: Sequence[float]
) -> np.ndarray:
    """The model's matrix of one request's row (``arrays``, one row) posted at each of
    ``posted``, then of ``durations`` long, then as it is: the what-if's rows."""
    n = len(posted) + len(durations) + 1
    rows = {name: np.repeat(values[:1], n) for name, values in arrays.items()}
    rows["video_id"] = np.arange(n)
    rows["posted_at"][: len(posted)] = [nanoseconds(moment) for moment in posted]
    rows["duration_s"][len(posted) : n - 1] = durations
    return feature_matrix(rows, spec)


def file_rows(
    videos: pd.DataFrame,
    ages: np.ndarray,
    spec: FeatureSpec,
    timeline: Timeline | None,
    snapshots: pd.DataFrame,
) -> tuple[RowArrays, np.ndarray, np.ndarray]:
    """A file's clean videos at their ages -> their raw arrays, the model's matrix, and why
    each cannot be answered ("" where it can).

    Each video's creator history is the store's as of its posting (without a store every
    creator is a cold start); its counts are the snapshots' by its age.
    """
    drafts = draft_rows(videos)
    history = (
        cold_start_history(len(drafts))
        if timeline is None
        else history_as_of(timeline, drafts["creator_id"], drafts["posted_at"])
    )
    rows = rows_at_ages(with_history(drafts, history), snapshots, ages, spec.horizon_minutes)
    arrays = frame_arrays(rows, RAW_COLUMNS)
    oldest = None if timeline is None else timeline.oldest
    why = unanswerable(arrays, spec.threshold, spec.horizon_minutes, oldest)
    return arrays, feature_matrix(arrays, spec), why
