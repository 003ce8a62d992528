"""Drift per feature over time: the drift check run window by window, for the report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.prediction_log import LoggedAnswer, log_folder, read_log
from tests.training.monitor.logged import Halves, answers, split_halves, write_log
from training.monitor.drift_over_time import answer_moment, drift_by_window, top_features
from training.train import TrainOutcome

PER_DAY = 500  # answers a day: above the check's 300, so each day is a window of its own
FIRST = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture(scope="module")
def halves(trained: TrainOutcome) -> Halves:
    return split_halves(trained)


def day_of_answers(halves: Halves, day: int, shift: dict[str, float] | None) -> list[LoggedAnswer]:
    """PER_DAY held-out rows answered as logged at noon of ``day`` days after FIRST."""
    rows = np.sort(np.random.default_rng(day).choice(len(halves.x), PER_DAY, replace=False))
    logged = answers(
        halves.bundle,
        halves.x.iloc[rows],
        halves.ages[rows],
        halves.videos[rows],
        halves.posted.iloc[rows],
        shift=shift,
    )
    noon = FIRST + timedelta(days=day, hours=12)
    return [answer.model_copy(update={"logged_at": noon}) for answer in logged]


def by_window(halves: Halves, tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The drift of the log written under ``tmp_path``, window by window (300 answers)."""
    return drift_by_window(
        read_log(log_folder(tmp_path)).answers,
        halves.bundle.spec,
        "local",
        halves.bundle.reference,
        min_rows=300,
        false_alarm=0.05,
        seed=0,
    )


@pytest.mark.slow
def test_a_feature_that_moved_after_a_day_rises_above_its_threshold_after_it(
    halves: Halves, tmp_path: Path
) -> None:
    # given six days of answers whose completion rates all rose by 60% from the fourth day
    change = 3
    logged = [
        answer
        for day in range(6)
        for answer in day_of_answers(
            halves, day, {"completion_rate": 1.6} if day >= change else None
        )
    ]
    write_log(tmp_path, logged)
    # when the drift is judged window by window
    checks, summary = by_window(halves, tmp_path)
    # then each day is a window, and the moved feature stays under its threshold before the
    # change and rises above it from the day of the change, where the windows alert
    assert list(summary["start"]) == [pd.Timestamp(FIRST) + pd.Timedelta(days=d) for d in range(6)]
    assert (summary["answers"] == PER_DAY).all()
    moved = checks[checks["feature"] == "completion_rate"].set_index("start")
    before, after = moved.iloc[:change], moved.iloc[change:]
    assert not before["moved"].any(), before[["distance", "threshold"]]
    assert after["moved"].all(), after[["distance", "threshold"]]
    assert after["ratio"].min() > before["ratio"].max()
    assert summary["alert"].iloc[change:].all()
    assert all("completion_rate" in moved for moved in summary["moved"].iloc[change:])
    assert "completion_rate" in top_features(checks)


@pytest.mark.parametrize(
    ("per_day", "spans"),
    [
        ([400, 400, 400], [(0, 1), (1, 2), (2, 3)]),  # each day enough: a window each
        ([100, 100, 150, 400], [(0, 3), (3, 4)]),  # short days join until they hold 300
        ([400, 100], [(0, 2)]),  # a short last day joins the window before
        ([100, 100], []),  # too few in all: no window
    ],
)
@pytest.mark.slow
def test_short_days_join_the_next_until_the_window_holds_enough(
    halves: Halves, tmp_path: Path, per_day: list[int], spans: list[tuple[int, int]]
) -> None:
    # given days with these many answers
    logged = [
        answer
        for day, count in enumerate(per_day)
        for answer in day_of_answers(halves, day, None)[:count]
    ]
    write_log(tmp_path, logged)
    # when the windows are drawn
    _, summary = by_window(halves, tmp_path)
    # then they span these days and hold every answer once
    day = pd.Timedelta(days=1)
    start = pd.Timestamp(FIRST)
    expected = [(start + a * day, start + b * day) for a, b in spans]
    found = list(zip(summary.get("start", []), summary.get("end", []), strict=True))
    assert found == expected
    if spans:
        assert summary["answers"].sum() == sum(per_day)


def test_an_answers_moment_is_its_posting_time_plus_age_where_known() -> None:
    # given a backtest's two answers logged now, one with its posting time, one without
    now = pd.Timestamp("2026-12-07T18:00Z")
    frame = pd.DataFrame(
        {
            "logged_at": [now, now],
            "posted_at": [pd.Timestamp("2018-03-20T08:00Z"), pd.NaT],
            "age_minutes": [90.0, 60.0],
        }
    )
    # when their moments are read, then the first is the moment it speaks of
    assert list(answer_moment(frame)) == [pd.Timestamp("2018-03-20T09:30Z"), now]
