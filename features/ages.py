"""Ages between the trained ones: answers that never jump because a clock ticked.

The model is trained at a grid of ages (``FeatureSpec.ages``). A video asked about between
two of them is answered from both neighbours, weighted linearly by where its age lies
between them, so the answer moves smoothly from one trained age to the next. Counts read
between the two are moved onto each neighbour's age (as if read then, the minutes between
them kept), so both neighbours see the same counts and the answer is a straight line
between theirs: a minute moves it by the gap between the two answers over the minutes
between the two ages. The draft (age 0) knows nothing of counts, so counts read before the
first trained age are answered at that age alone.

Past the last trained age before the horizon the end is not another model but the horizon
itself, where the counts decide: a video whose counts were read ``t`` minutes before the
horizon, with ``k`` likes still to go at its recent pace, reaches the threshold with the
probability that a Poisson count of mean ``pace * t`` is at least ``k`` (``pace_tail``).
The nearer its counts are to the horizon, the more that weighs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import poisson

from features.arrays import RowArrays
from features.rows import OBSERVATION_COLUMNS
from features.spec import grid_index

OBSERVATION_AGES = ("obs_age_minutes", "lag1_age_minutes", "lag2_age_minutes")


@dataclass(frozen=True)
class Placed:
    """Where each row's age lies on the grid: its two neighbours and the upper's weight.

    ``end`` marks rows past the last trained age, whose upper neighbour is the horizon's
    count rule (``pace_tail``) rather than a trained age.
    """

    lower: np.ndarray
    upper: np.ndarray
    weight: np.ndarray
    end: np.ndarray
    exact: np.ndarray  # asked at a trained age itself: answered as that age was trained


def answering_ages(ages: tuple[float, ...], horizon_minutes: float) -> np.ndarray:
    """The trained ages a model answers from: those before the horizon (at the horizon the
    counts decide, so training has no open rows there)."""
    grid = np.array(sorted(a for a in ages if a < horizon_minutes), dtype="float64")
    return grid if len(grid) else np.zeros(1)


def place(arrays: RowArrays, grid: np.ndarray, horizon_minutes: float) -> Placed:
    """Each row's neighbouring grid ages and the weight of the upper one.

    Between two trained ages the weight grows linearly with the age; past the last one,
    with how far into the final stretch the counts were read (stale counts keep the last
    trained age's answer, whose training rows had counts as stale).
    """
    ages = np.minimum(np.asarray(arrays["age_minutes"], dtype="float64"), horizon_minutes)
    k = grid_index(ages, grid)
    lower = grid[k]
    end = ages > grid[-1]
    last = k == len(grid) - 1
    upper = np.where(last, horizon_minutes, grid[np.minimum(k + 1, len(grid) - 1)])
    obs = np.asarray(arrays["obs_age_minutes"], dtype="float64")
    exact = ~end & (ages == lower)
    # Counts read before the first trained age after posting: the draft knows nothing of
    # them, so they are answered at that age alone, as counts read a little before it.
    first = (lower == 0) & ~np.isnan(obs) & ~end
    if exact.all():  # every row at a trained age (a draft, say): no weight to work out
        return Placed(lower, upper, np.where(first, 1.0, 0.0), end, exact)
    with np.errstate(divide="ignore", invalid="ignore"):
        weight = np.where(upper > lower, (ages - lower) / (upper - lower), 0.0)
        stretch = horizon_minutes - grid[-1]
        read = np.minimum(np.nan_to_num(obs, nan=0.0), horizon_minutes)
        read_late = np.clip((read - grid[-1]) / stretch, 0.0, 1.0)
    weight = np.where(end, np.nan_to_num(read_late), np.clip(weight, 0.0, 1.0))
    weight = np.where(first, 1.0, weight)
    return Placed(lower=lower, upper=upper, weight=weight, end=end, exact=exact)


def moved_to(arrays: RowArrays, ages: np.ndarray, read_after: np.ndarray) -> RowArrays:
    """The rows as asked at ``ages`` (trained ages), their counts read after ``read_after``
    (the lower neighbour) taken as read at that age; at age 0 (the draft) nothing was
    observed yet.

    Moved counts keep the minutes between them, so their pace is the same at either
    neighbour (an earlier count that would fall before posting stays at posting). Counts
    read between two trained ages are thus the same counts at either neighbour, and the
    answer between them a straight line from one neighbour's to the other's. Counts read
    earlier stay where they were: stale counts, as training saw them at every sparse crawl.
    """
    moved = dict(arrays)
    moved["age_minutes"] = ages
    obs = np.asarray(arrays["obs_age_minutes"], dtype="float64")
    shift = np.where(obs > read_after, ages - obs, 0.0)
    for name in OBSERVATION_AGES:
        moved[name] = np.maximum(np.asarray(arrays[name], dtype="float64") + shift, 0.0)
    if (ages == 0).any():
        draft = ages == 0
        for name in OBSERVATION_COLUMNS:
            moved[name] = np.where(draft, np.nan, moved[name])
    return moved


def pace_tail(arrays: RowArrays, threshold: int, horizon_minutes: float) -> np.ndarray:
    """P(the likes still missing arrive by the horizon) at the recent pace, as a Poisson
    count: 1 when the counts already reach the threshold, 0 when no time or no pace is left.

    The pace is the likes per minute since the count before, or since posting when there is
    none; likes never decrease, so it is never negative.
    """
    likes = np.asarray(arrays["likes"], dtype="float64")
    obs = np.asarray(arrays["obs_age_minutes"], dtype="float64")
    lag_likes = np.asarray(arrays["lag1_likes"], dtype="float64")
    lag_age = np.asarray(arrays["lag1_age_minutes"], dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        recent = (likes - lag_likes) / (obs - lag_age)
        pace = np.where(np.isfinite(recent) & (obs > lag_age), recent, likes / obs)
    pace = np.clip(np.nan_to_num(pace, nan=0.0, posinf=0.0), 0.0, None)
    left = np.clip(horizon_minutes - np.nan_to_num(obs, nan=0.0), 0.0, None)
    missing = np.ceil(threshold - np.nan_to_num(likes, nan=0.0))
    return np.where(missing <= 0, 1.0, poisson.sf(missing - 1, pace * left))
