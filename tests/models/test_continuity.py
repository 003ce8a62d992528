"""Answers are continuous in time: from posting to the horizon no answer jumps because a
clock ticked, and near the horizon it agrees with the outcome the counts are about to give.

The bound: no one-minute step moves an answer by more than ``MAX_STEP``. The sweep starts at
the first minute: at age 0 a video is its draft and has no counts, so the counts' arrival
is new information, not a clock's tick.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from training.train import TrainOutcome

MAX_STEP = 0.05


def _sweep(
    trained: TrainOutcome, likes, views, lag_minutes: float | None = None, lag_likes=None
) -> pd.DataFrame:
    """One video asked about at every minute from posting to the horizon, its counts at each
    minute given by ``likes(age)`` and ``views(age)``, read at that minute, and the likes
    ``lag_minutes`` before (``lag_likes(age)``, default ``likes`` then)."""
    horizon = trained.bundle.spec.horizon_minutes
    template = trained.test_rows.drop(columns="label").iloc[[0]]
    # fixed counts with a fixed pace: from when the count ``lag_minutes`` before exists
    first = 1.0 if lag_likes is None else lag_minutes + 1
    ages = np.arange(first, horizon + 1)
    rows = template.loc[template.index.repeat(len(ages))].reset_index(drop=True)
    observed = ages > 0  # every row: counts at the minute asked about
    rows["age_minutes"] = ages
    rows["obs_age_minutes"] = np.where(observed, ages, np.nan)
    rows["likes"] = np.where(observed, likes(ages), np.nan)
    rows["views"] = np.where(observed, views(ages), np.nan)
    for name in ("comments", "replies", "shares", "follows", "completion_rate", "retention_3s"):
        rows[name] = np.nan
    if lag_minutes is None:
        rows[["lag1_age_minutes", "lag1_likes"]] = np.nan
    else:
        # the count before: ``lag_minutes`` earlier, or at half the age while younger
        lag = (
            ages - lag_minutes
            if lag_likes is not None
            else np.maximum(ages - lag_minutes, ages / 2)
        )
        rows["lag1_age_minutes"] = np.where(lag > 0, lag, np.nan)
        before = likes(lag) if lag_likes is None else lag_likes(ages)
        rows["lag1_likes"] = np.where(lag > 0, before, np.nan)
    rows[["lag2_age_minutes", "lag2_likes"]] = np.nan
    return rows


CASES = {
    "fixed counts": (lambda a: np.full_like(a, 10.0), lambda a: np.full_like(a, 100.0), None),
    "slow steady pace": (lambda a: np.floor(a / 120), lambda a: np.floor(a / 3), 60.0),
    "steady pace to the bar": (lambda a: np.floor(a / 10.5), lambda a: a * 2, 60.0),
    "999 likes, 0.5 per hour": (
        lambda a: np.full_like(a, 999.0),
        lambda a: np.full_like(a, 20_000.0),
        120.0,
        lambda a: np.full_like(a, 998.0),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_no_minute_moves_the_answer_more_than_the_bound(trained: TrainOutcome, case: str) -> None:
    # given one video asked about at every minute from posting to the horizon
    rows = _sweep(trained, *CASES[case])
    # when it is answered at each minute
    answers = trained.bundle.answer_rows(rows)
    # then no one-minute step moves the answer by more than the bound
    steps = np.abs(np.diff(answers.probability))
    worst = int(np.argmax(steps))
    assert steps[worst] <= MAX_STEP, (case, rows["age_minutes"][worst], steps[worst])


def test_near_the_horizon_the_answer_becomes_the_outcome(trained: TrainOutcome) -> None:
    # given 999 likes that have grown by half a like an hour, a minute before the horizon
    rows = _sweep(trained, *CASES["999 likes, 0.5 per hour"])
    answers = trained.bundle.answer_rows(rows)
    at = {age: i for i, age in enumerate(rows["age_minutes"].astype(int))}
    horizon = int(trained.bundle.spec.horizon_minutes)
    # then a minute before the horizon it is all but decided: it will not get there
    assert answers.probability[at[horizon - 1]] < 0.02
    assert answers.decided[at[horizon]]
    assert answers.probability[at[horizon]] == 0.0
    # and in its last ten minutes no answer says it is likely
    assert answers.probability[at[horizon - 10] : at[horizon]].max() < 0.1


def test_the_answer_between_two_trained_ages_lies_between_theirs(trained: TrainOutcome) -> None:
    # given the fixed counts at 15 and 30 minutes (trained ages) and every minute between
    rows = _sweep(trained, *CASES["fixed counts"]).iloc[14:30]
    assert rows["age_minutes"].iloc[[0, -1]].tolist() == [15.0, 30.0]
    p = trained.bundle.answer_rows(rows).probability
    # then each answer between lies between the two trained ages' answers
    low, high = sorted((p[0], p[-1]))
    assert np.all((p >= low - 1e-9) & (p <= high + 1e-9))
