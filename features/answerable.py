"""Can a row be answered: one rule for a request and for a file's video.

A row is answered from its counts, or from the model with its creator's history as of
posting. Two rows can be neither: one at or past the horizon with no count by then (the
outcome is decided, but nothing says which way), and one posted before the creator store's
oldest state whose counts do not already reach the threshold (its history is unknown).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.arrays import NAT, RowArrays
from features.labels import known_outcome
from features.store import too_early

UNSEEN_OUTCOME = (
    "age_minutes: at or past the horizon the outcome is decided, but no snapshot by then "
    "gives its counts"
)


def unanswerable(
    arrays: RowArrays, threshold: int, horizon_minutes: float, oldest: pd.Timestamp | None
) -> np.ndarray:
    """Why each row cannot be answered, in one line naming the field; "" where it can.

    Args:
        arrays: the rows' raw arrays (``features.rows.RAW_COLUMNS``), posting times in
            int64 UTC nanoseconds.
        threshold: the model's like threshold.
        horizon_minutes: the model's horizon.
        oldest: the creator store's oldest state; None when there is none to be before.
    """
    likes = np.asarray(arrays["likes"], dtype="float64")
    ages = np.asarray(arrays["age_minutes"], dtype="float64")
    why = np.full(len(ages), "", dtype=object)
    why[(ages >= horizon_minutes) & np.isnan(likes)] = UNSEEN_OUTCOME
    if oldest is None:
        return why
    posted = np.asarray(arrays["posted_at"], dtype=np.int64)
    early = (posted < oldest.value) & (posted != NAT) & (why == "")
    if early.any():
        reached, _ = known_outcome(
            likes[early],
            np.asarray(arrays["obs_age_minutes"], dtype="float64")[early],
            ages[early],
            threshold,
            horizon_minutes,
            lag_likes=np.asarray(arrays["lag1_likes"], dtype="float64")[early],
            lag_age_minutes=np.asarray(arrays["lag1_age_minutes"], dtype="float64")[early],
        )
        refused = np.flatnonzero(early)[~reached]
        for i in refused.tolist():
            why[i] = too_early("posted_at", pd.Timestamp(int(posted[i]), tz="UTC"), oldest)
    return why
