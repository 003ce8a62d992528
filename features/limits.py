"""The bounds of the data contract, in plain Python.

The service's request schemas share them with ``features.contract``; kept free of pandas so
that BentoML's supervisor process, which imports the service only to read its
configuration, does not load the data stack for them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

BIG_COUNT = 10**12  # no video has more of anything: a larger count is a broken export
LONGEST_VIDEO_S = 36_000.0  # ten hours: a longer "short video" is a broken export
OLDEST_AGE_MINUTES = 10 * 366 * 1440.0  # a snapshot ten years after posting, no later
EARLIEST_TIME = datetime(2000, 1, 1, tzinfo=UTC)  # before any short-video platform
PLANNING_DAYS = 366  # a draft may be planned up to a year ahead, no further
# a number as text, as pandas reads a file's cell (no "1_000", "NaN" or "0x10")
PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def time_range() -> tuple[datetime, datetime]:
    """The times a posting or a snapshot may have: from 2000 to a year from now."""
    return EARLIEST_TIME, datetime.now(UTC) + timedelta(days=PLANNING_DAYS)
