"""Simulator scenarios: the platform changes on a date, as each says, and not before it."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.simulation.config import Platform, SimConfig
from features.simulation.generate import simulate
from features.simulation.scenarios import parse_scenario

BASE = SimConfig(videos=3000, seed=5, window_days=40, pilot_videos=1500)
DATE = "2026-06-21"
CUT = pd.Timestamp(DATE, tz=BASE.timezone)


@cache
def made(scenario: str | None) -> Platform:
    return simulate(
        SimConfig(**{**BASE.__dict__, "scenario": f"{scenario}@{DATE}" if scenario else None})
    )


def before(platform: Platform) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The videos posted before the date (by the unchanged platform's clock) and their
    snapshots."""
    early = (made(None).videos["posted_at"] < CUT).to_numpy()
    videos = platform.videos[early].reset_index(drop=True)
    snapshots = platform.snapshots.to_pandas()
    snapshots["video_id"] = snapshots["video_id"].astype(str)
    kept = snapshots["video_id"].isin(set(videos["video_id"]))
    return videos, snapshots[kept].reset_index(drop=True)


def after(platform: Platform) -> np.ndarray:
    return (made(None).videos["posted_at"] >= CUT).to_numpy()


@pytest.mark.parametrize(
    "scenario", ["control", "revision", "new_creators", "category_rise:food", "season"]
)
@pytest.mark.slow
def test_nothing_before_the_date_changes(scenario: str) -> None:
    # given the platform with and without the change, when the videos before it are compared
    changed, unchanged = before(made(scenario)), before(made(None))
    # then they and their counts are the same, to the byte
    pd.testing.assert_frame_equal(changed[0], unchanged[0])
    pd.testing.assert_frame_equal(changed[1], unchanged[1])


def test_control_is_the_platform_without_a_scenario() -> None:
    pd.testing.assert_frame_equal(made("control").videos, made(None).videos)


def test_the_revision_promotes_by_completion_more() -> None:
    # given the videos after the revision, and the same videos without it
    late = after(made(None))

    def weight_of_completion(platform: Platform) -> float:
        truth = platform.truth[late]
        return float(np.corrcoef(truth["p_completion"], truth["rounds_reached"])[0, 1])

    # then how far a video's traffic goes follows its completion more closely
    assert weight_of_completion(made("revision")) > weight_of_completion(made(None)) + 0.05


def test_new_creators_come_with_small_audiences() -> None:
    late = after(made(None))
    videos = made("new_creators").videos[late]
    newcomers = videos["creator_id"].str.startswith("n")
    assert 0.4 < newcomers.mean() < 0.6
    followers = videos["creator_followers"].astype("float64")
    assert followers[newcomers].median() < followers[~newcomers].median()


def test_a_category_rises() -> None:
    late = after(made(None))
    share = (made("category_rise:food").videos["category"][late] == "food").mean()
    assert share > (made(None).videos["category"][late] == "food").mean() + 0.2


def test_the_season_moves_posting_two_hours_later() -> None:
    late = after(made(None))
    moved = made("season").videos["posted_at"][late] - made(None).videos["posted_at"][late]
    assert (moved == pd.Timedelta(hours=2)).all()


@pytest.mark.parametrize("text", ["storm@2026-10-01", "revision", "season:food@2026-10-01"])
def test_a_scenario_that_is_none_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="scenario"):
        parse_scenario(text)


def test_simulate_refuses_an_unknown_scenario_in_one_line(cli, tmp_path: Path) -> None:
    result = cli("simulate", "--out", str(tmp_path / "d"), "--scenario", "storm@2026-10-01")
    assert result.code == 2
    assert "--scenario: unknown scenario 'storm'" in result.err
    assert not (tmp_path / "d").exists()
