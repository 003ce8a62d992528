"""Raw rows as plain numpy arrays: the one form the feature code reads.

The feature code works on a dict of numpy arrays, not on DataFrames: a request is one row,
and pandas costs tens of microseconds per operation whatever the length. Batch rows (a
DataFrame) and request columns (a list per column) are both turned into this form, then
share every line of feature code.

Three such dicts exist, named for what their rows are:

- ``RowArrays``: every raw column, one value per row (a video at an age);
- ``VideoArrays``: the draft and history columns, one value per video;
- ``ObservationArrays``: the age and what was observed by it, one value per example.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_numeric_dtype

RowArrays = dict[str, Any]  # column -> numpy array (or pandas Categorical / Arrow strings)
VideoArrays = dict[str, Any]
ObservationArrays = dict[str, Any]

TEXT_COLUMNS = ("video_id", "creator_id", "category", "caption", "hashtags")
TIME_COLUMNS = ("posted_at", "hist_last_posted_at")
FLAG_COLUMNS = ("music_trending",)
NAT = np.iinfo(np.int64).min  # what pandas stores for NaT in int64 nanoseconds

# Below this many rows an input is request-sized: a Python loop over it beats the set-up
# of one vectorised call (Arrow, a hash table, a DatetimeIndex).
LOOP_BEATS_VECTOR_BELOW = 64

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def frame_arrays(rows: pd.DataFrame, columns: tuple[str, ...]) -> RowArrays:
    """Batch rows -> arrays: numbers as float64, times as int64 UTC nanoseconds.

    Raises:
        ValueError: ``rows`` lacks one of ``columns``.
    """
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"raw rows lack columns {missing}")
    arrays: RowArrays = {}
    for name in columns:
        column = rows[name]
        if name in TIME_COLUMNS:
            utc = pd.DatetimeIndex(pd.to_datetime(column, utc=True)).as_unit("ns")
            arrays[name] = utc.asi8
        elif isinstance(column.dtype, pd.CategoricalDtype):
            arrays[name] = column.array  # a Categorical: worked on per category, not per row
        elif name in TEXT_COLUMNS:
            arrays[name] = column.array  # Arrow-backed strings stay in Arrow: no Python objects
        elif name in FLAG_COLUMNS:
            flag = column.astype("boolean").astype("Float64")
            arrays[name] = flag.to_numpy(dtype="float64", na_value=np.nan)
        else:
            # a numeric column converts in place (float64 is not even copied); only text
            # goes through to_numeric, which copies, to turn what is not a number into NaN
            numeric = (
                column if is_numeric_dtype(column.dtype) else pd.to_numeric(column, errors="coerce")
            )
            arrays[name] = numeric.to_numpy(dtype="float64", na_value=np.nan)
    return arrays


def column_arrays(columns: Mapping[str, Sequence[Any]]) -> RowArrays:
    """Request columns (a list of values per column, a value per request) -> arrays, with no
    DataFrame and no dict per row: numbers as float64 (None: NaN), times as int64 UTC
    nanoseconds, text as objects."""
    arrays: RowArrays = {}
    for name, values in columns.items():
        if name in TIME_COLUMNS:
            arrays[name] = np.array([nanoseconds(v) for v in values], dtype=np.int64)
        elif name in TEXT_COLUMNS:
            arrays[name] = np.array(values, dtype=object)
        else:
            arrays[name] = np.asarray(values, dtype="float64")  # None and NaN alike: NaN
    return arrays


def nanoseconds(moment: datetime | None) -> int:
    """A time as int64 nanoseconds since the epoch, the way pandas stores it; NaT if none."""
    if moment is None or moment != moment:  # None, NaT
        return int(NAT)
    if isinstance(moment, pd.Timestamp):
        return moment.value
    if moment.tzinfo is None:  # naive means UTC, as in the data contract
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND * 1000
