"""The local wall clock: per-row zoneinfo (requests) equals pandas (batches)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.clock import local_clock


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kolkata"])
def test_local_clock_agrees_between_few_rows_and_many(zone: str) -> None:
    # given instants every 17 minutes across a year, DST changes included
    stamps = pd.date_range("2026-01-01", "2027-01-01", freq="17min", tz="UTC").as_unit("ns")
    utc_ns = stamps.asi8
    # when the clock is read in bulk (pandas) and a few rows at a time (zoneinfo)
    hour, weekday = local_clock(utc_ns, zone)
    starts = range(0, len(utc_ns), 61)  # windows of 7 rows spread over the whole year
    for i in starts:
        few_hour, few_weekday = local_clock(utc_ns[i : i + 7], zone)
        np.testing.assert_array_equal(few_hour, hour[i : i + 7])
        np.testing.assert_array_equal(few_weekday, weekday[i : i + 7])
    local = stamps.tz_convert(zone)
    np.testing.assert_allclose(hour, local.hour + local.minute / 60.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(weekday, local.day_of_week)
