"""Instants as int64 UTC nanoseconds -> the local wall clock of a time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from features.arrays import LOOP_BEATS_VECTOR_BELOW


def utc_offsets_ns(utc_ns: np.ndarray | np.int64, zone: str) -> np.ndarray | np.int64:
    """The zone's UTC offset at each instant (DST included), in nanoseconds; one int64 for
    a single instant (a served row, ``features.matrix``)."""
    if not isinstance(utc_ns, np.ndarray):
        offset = datetime.fromtimestamp(int(utc_ns) // 10**9, ZoneInfo(zone)).utcoffset()
        return np.int64(offset // timedelta(microseconds=1) * 1000)  # type: ignore[operator]
    if len(utc_ns) < LOOP_BEATS_VECTOR_BELOW:  # zoneinfo per row beats a DatetimeIndex
        tz = ZoneInfo(zone)
        offsets = [datetime.fromtimestamp(t // 10**9, tz).utcoffset() for t in utc_ns.tolist()]
        return np.array(
            [o // timedelta(microseconds=1) * 1000 for o in offsets],  # type: ignore[operator]
            dtype=np.int64,
        )
    utc = pd.DatetimeIndex(utc_ns.view("datetime64[ns]")).tz_localize("UTC")
    return utc.tz_convert(zone).tz_localize(None).asi8 - utc_ns


def local_clock(utc_ns: np.ndarray | np.int64, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """(hour of day with minutes as a fraction, weekday Monday=0) on the local wall clock;
    numpy scalars for a single instant."""
    local = utc_ns + utc_offsets_ns(utc_ns, zone)
    minutes = local // 60_000_000_000
    hour = (minutes % 1440) / 60.0
    weekday = (local // 86_400_000_000_000 + 3) % 7  # 1970-01-01 was a Thursday
    return hour.astype("float64"), weekday.astype("float64")
