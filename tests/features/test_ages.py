"""Where an age lies between the trained ones, a row moved onto a trained age, and the
horizon's count rule."""

from __future__ import annotations

import numpy as np
import pytest

from features.ages import answering_ages, moved_to, pace_tail, place
from features.rows import OBSERVATION_COLUMNS

GRID = answering_ages((0.0, 15.0, 60.0, 1380.0, 1440.0), 1440.0)


def _rows(ages: list[float], likes: list[float], lag_age: float = np.nan) -> dict:
    n = len(ages)
    rows = {name: np.full(n, np.nan) for name in OBSERVATION_COLUMNS}
    rows["age_minutes"] = np.array(ages, dtype=float)
    rows["obs_age_minutes"] = np.array(ages, dtype=float)
    rows["likes"] = np.array(likes, dtype=float)
    rows["lag1_age_minutes"] = np.full(n, lag_age)
    rows["lag1_likes"] = np.where(np.isnan(lag_age), np.nan, np.array(likes) / 2)
    return rows


def test_the_horizon_is_not_an_answering_age() -> None:
    assert GRID.tolist() == [0.0, 15.0, 60.0, 1380.0]


@pytest.mark.parametrize(
    ("age", "lower", "upper", "exact", "end"),
    [
        (0.0, 0.0, 15.0, True, False),
        (15.0, 15.0, 60.0, True, False),
        (30.0, 15.0, 60.0, False, False),
        (1380.0, 1380.0, 1440.0, True, False),
        (1400.0, 1380.0, 1440.0, False, True),
        (5000.0, 1380.0, 1440.0, False, True),
    ],
)
def test_each_age_has_its_neighbours(
    age: float, lower: float, upper: float, exact: bool, end: bool
) -> None:
    # given a row at an age, when it is placed on the grid
    placed = place(_rows([age], [10.0]), GRID, 1440.0)
    # then its neighbours and kind are those of its place
    assert (placed.lower[0], placed.upper[0]) == (lower, upper)
    assert (bool(placed.exact[0]), bool(placed.end[0])) == (exact, end)


def test_the_weight_grows_with_the_age_from_zero_to_one() -> None:
    ages = np.linspace(15, 60, 46)
    weight = place(_rows(ages.tolist(), [10.0] * 46), GRID, 1440.0).weight
    # given ages from one trained age (15) to the next (60): the weight of 60 grows
    assert weight[0] == 0.0
    assert weight[-2] == pytest.approx(44 / 45)
    assert np.all(np.diff(weight[:-1]) > 0)
    # and at 60 itself the answer is 60's own (weight 0 on the next trained age)
    assert weight[-1] == 0.0
    assert place(_rows([37.5], [1.0]), GRID, 1440.0).weight[0] == pytest.approx(0.5)


def test_counts_read_before_the_first_trained_age_are_answered_at_it() -> None:
    # given counts read 5 minutes after posting, and a row at 5 minutes without counts
    counted = _rows([5.0], [3.0])
    uncounted = dict(counted, obs_age_minutes=np.array([np.nan]), likes=np.array([np.nan]))
    # then the counts are answered at 15 minutes alone; without, between the draft and 15
    assert place(counted, GRID, 1440.0).weight[0] == 1.0
    assert place(uncounted, GRID, 1440.0).weight[0] == pytest.approx(1 / 3)


def test_past_the_last_trained_age_the_weight_follows_when_the_counts_were_read() -> None:
    # given rows past the grid: counts read at their age, and stale counts read earlier
    fresh = _rows([1410.0, 1440.0, 2000.0], [10.0, 10.0, 10.0])
    stale = dict(fresh, obs_age_minutes=np.array([600.0, 600.0, 600.0]))
    # then fresh counts move toward the horizon's rule, stale ones keep the trained answer
    assert place(fresh, GRID, 1440.0).weight.tolist() == [0.5, 1.0, 1.0]
    assert place(stale, GRID, 1440.0).weight.tolist() == [0.0, 0.0, 0.0]


def test_counts_read_between_two_trained_ages_are_moved_onto_either() -> None:
    # given counts read at 30 minutes (between 15 and 60), 10 minutes after the one before
    rows = _rows([30.0], [10.0], lag_age=20.0)
    # when moved onto 15 and onto 60
    back = moved_to(rows, np.array([15.0]), np.array([15.0]))
    forward = moved_to(rows, np.array([60.0]), np.array([15.0]))
    # then at each, the same counts read at that age, the minutes between them kept
    assert (back["age_minutes"][0], back["obs_age_minutes"][0]) == (15.0, 15.0)
    assert back["lag1_age_minutes"][0] == 5.0
    assert (forward["obs_age_minutes"][0], forward["lag1_age_minutes"][0]) == (60.0, 50.0)
    # and an earlier count that would fall before posting stays at posting
    early = moved_to(_rows([30.0], [10.0], lag_age=2.0), np.array([15.0]), np.array([15.0]))
    assert early["lag1_age_minutes"][0] == 0.0
    assert back["likes"][0] == forward["likes"][0] == 10.0
    # and moved onto the draft (age 0), nothing was observed
    draft = moved_to(rows, np.array([0.0]), np.array([0.0]))
    assert all(np.isnan(draft[name][0]) for name in OBSERVATION_COLUMNS)


def test_stale_counts_stay_where_they_were_read() -> None:
    # given counts read at 10 minutes, asked about between 15 and 60
    moved = moved_to(_rows([10.0], [10.0], lag_age=5.0), np.array([60.0]), np.array([15.0]))
    assert (moved["age_minutes"][0], moved["obs_age_minutes"][0]) == (60.0, 10.0)
    assert moved["lag1_age_minutes"][0] == 5.0


@pytest.mark.parametrize(
    ("likes", "age", "lag_age", "expected"),
    [
        (1000.0, 1439.0, np.nan, 1.0),  # already there
        (999.0, 1440.0, np.nan, 0.0),  # no time left
        (0.0, 600.0, np.nan, 0.0),  # no pace
    ],
)
def test_the_horizons_rule_at_its_edges(
    likes: float, age: float, lag_age: float, expected: float
) -> None:
    assert pace_tail(_rows([age], [likes], lag_age), 1000, 1440.0)[0] == expected


def test_the_horizons_rule_knows_how_little_time_is_left() -> None:
    # given 999 likes growing by one like every two hours (half the likes since the lag)
    rows = _rows([1439.0, 1380.0, 1200.0], [999.0] * 3, lag_age=1439.0 - 999.0 * 2 * 60)
    rows["lag1_age_minutes"] = rows["obs_age_minutes"] - 999.0 / 2 * 120
    tail = pace_tail(rows, 1000, 1440.0)
    # then with a minute left it is unlikely, and likelier the more time is left
    assert tail[0] < 0.01
    assert tail[0] < tail[1] < tail[2]


def test_more_likes_never_lower_the_horizons_rule() -> None:
    likes = np.arange(0.0, 1001.0)
    rows = _rows([1400.0] * len(likes), likes.tolist(), lag_age=1300.0)
    assert np.all(np.diff(pace_tail(rows, 1000, 1440.0)) >= 0)
