"""Raw arrays: request rows and batch rows become the same numbers."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from features.arrays import column_arrays


@pytest.mark.parametrize(
    "moment",
    [
        datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=UTC),
        datetime(2026, 10, 25, 2, 30, tzinfo=ZoneInfo("Europe/Berlin")),
        datetime(2026, 1, 2, 3, 4, 5),  # naive: UTC, as in the data contract
        pd.Timestamp("2026-05-06T07:08:09.123456789Z"),
        None,
        pd.NaT,
    ],
)
def test_request_times_become_the_nanoseconds_pandas_stores(moment: object) -> None:
    # given a request row whose times are plain datetimes, Timestamps or missing
    columns = {"posted_at": [moment], "hist_last_posted_at": [None]}
    # when it becomes raw arrays
    arrays = column_arrays(columns)
    # then the time is what pandas stores for it (NaT: the smallest int64)
    stored = pd.to_datetime(pd.Series([moment], dtype=object), utc=True).astype(
        "datetime64[ns, UTC]"
    )
    assert arrays["posted_at"][0] == pd.DatetimeIndex(stored).asi8[0]
