"""Reading a moment given on the command line (``--at``), failing in one line.

pandas accepts far more than ISO text and represents instants only between 1677 and 2262; a
moment near those ends overflows later, when a horizon or an age is added to it. Moments are
therefore bounded to a range no real data set leaves.
"""

from __future__ import annotations

import pandas as pd

from likecast.echo import shown
from likecast.errors import UserError

EARLIEST = pd.Timestamp("1970-01-01", tz="UTC")
LATEST = pd.Timestamp("2200-01-01", tz="UTC")


def parse_instant(text: str, option: str = "--at") -> pd.Timestamp:
    """``text`` as a UTC timestamp (UTC when it has no offset), or a UserError naming ``option``."""
    try:
        stamp = pd.Timestamp(text)
    except (ValueError, TypeError, OverflowError) as exc:
        raise UserError(f"{option}: not an ISO time: {shown(text)}") from exc
    if stamp is pd.NaT:
        raise UserError(f"{option}: not an ISO time: {shown(text)}")
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if not EARLIEST <= stamp <= LATEST:
        raise UserError(
            f"{option}: {shown(text)} is out of range ({EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d})"
        )
    return stamp
