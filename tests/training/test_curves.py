"""The like curves training freezes, against the training rows they come from, counted here
independently (pandas over the examples, not the curves' code)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from features.loading import Dataset
from likecast.settings import Settings
from models.curves import ALL, share_below
from serving.core.compared import compared
from training.curves import KEYS, MIN_AT_AGE, MIN_GROUP_VIDEOS, curve_rows, curves_of, like_curves
from training.train import Examples, TrainOutcome, build_examples


@pytest.fixture(scope="module")
def examples(small_dataset: Dataset, settings: Settings) -> Examples:
    return build_examples(small_dataset, settings, lambda _stage: None)


@pytest.fixture(scope="module")
def train_rows(examples: Examples) -> pd.DataFrame:
    """Each train-slice video at each training age: its category, followers, likes by then
    (0 at posting) and its outcome."""
    ex = examples
    train = ex.slice == "train"
    columns = ("category", "creator_followers", "age_minutes", "likes", "completion_rate")
    rows = ex.grid.rows(train, columns)
    rows["category"] = rows["category"].astype(str)
    rows["reached"] = ex.y[train].astype(bool)
    rows.loc[rows["age_minutes"] == 0, "likes"] = 0.0
    return rows


def members(rows: pd.DataFrame, key: str) -> pd.DataFrame:
    return rows if key == ALL else rows[rows["category"] == key]


@pytest.mark.parametrize("key", [ALL, "food", "comedy"])
@pytest.mark.parametrize("age", [30.0, 120.0, 1440.0])
def test_percentiles_are_the_training_videos_share_below(
    trained: TrainOutcome, train_rows: pd.DataFrame, key: str, age: float
) -> None:
    # given the curves of a trained model and the train slice's rows at one age
    curves = trained.bundle.curves
    assert curves is not None
    group = curves.groups[key]
    j = curves.ages.index(age)
    likes = members(train_rows, key).query("age_minutes == @age")["likes"].dropna().to_numpy()
    assert group.videos == (members(train_rows, key)["age_minutes"] == 0).sum()
    quantiles = group.likes[j]
    assert quantiles is not None
    # when likes spread over the group's range are placed
    for given in np.unique(np.quantile(likes, [0.1, 0.3, 0.5, 0.7, 0.9])) + 0.5:
        # then the percentile is the share of those videos with fewer likes, within the
        # resolution of 41 quantiles
        assert share_below(quantiles, curves.levels, given) == pytest.approx(
            (likes < given).mean(), abs=0.03
        )


@pytest.mark.parametrize("key", [ALL, "food"])
@pytest.mark.parametrize("age", [60.0, 720.0])
def test_the_band_is_the_reached_and_missed_videos_quartiles(
    trained: TrainOutcome, train_rows: pd.DataFrame, key: str, age: float
) -> None:
    # given the curves and the train slice's rows of a group at one age
    curves = trained.bundle.curves
    assert curves is not None
    j = curves.ages.index(age)
    at_age = members(train_rows, key).query("age_minutes == @age")
    group = curves.groups[key]
    # then each band is the quartiles and median of those that reached, and of the others
    for band, outcome in ((group.reached_band[j], True), (group.missed_band[j], False)):
        likes = at_age.loc[at_age["reached"] == outcome, "likes"].dropna()
        if len(likes) < MIN_AT_AGE:
            assert band is None
            continue
        expected = likes.quantile([0.25, 0.5, 0.75]).tolist()
        assert band == pytest.approx(expected, abs=0.051)  # kept to one decimal


def test_the_answer_places_the_video_among_the_training_videos(
    trained: TrainOutcome, train_rows: pd.DataFrame
) -> None:
    # given a food video's likes at 2 h, between two food videos' counts
    curves = trained.bundle.curves
    food = members(train_rows, "food").query("age_minutes == 120")["likes"].dropna()
    given = float(food.median()) + 0.5
    # when it is compared
    said = compared(curves, "food", float("nan"), [(120.0, given)], "en")
    # then its percentile is the share of training food videos with fewer likes by 2 h,
    # and three in four of those that reached had at least the quartile said
    assert said is not None
    assert said["group"]["level"] == "category"
    assert said["percentile"] == pytest.approx((food < given).mean(), abs=0.03)
    reached = members(train_rows, "food").query("age_minutes == 120 and reached")["likes"].dropna()
    assert (reached >= said["reached_quartile"]).mean() >= 0.73


@pytest.mark.parametrize("age", [60.0, 720.0])
def test_a_signal_is_placed_among_the_training_videos_rates(
    trained: TrainOutcome, train_rows: pd.DataFrame, age: float
) -> None:
    # given food videos' completion rates at one age in the train slice
    curves = trained.bundle.curves
    rates = members(train_rows, "food").query("age_minutes == @age")["completion_rate"].dropna()
    given = float(rates.median())
    # when a food video's completion at that age is placed
    said = compared(curves, "food", float("nan"), [(age, 10.0)], "en", {"completion_rate": given})
    # then it is above the share of those videos with a lower rate
    assert said is not None
    (placed,) = said["signals"]
    assert placed["percentile"] == pytest.approx((rates < given).mean(), abs=0.03)


@pytest.mark.parametrize("parts", [1, 3])
def test_curves_merged_from_partitions_rows_are_the_whole_sets(
    examples: Examples, trained: TrainOutcome, parts: int
) -> None:
    # given the train videos' rows cut into partitions, each partition's rows shuffled and
    # the partitions concatenated last first (as a cluster may gather them)
    frozen = trained.bundle.curves
    assert frozen is not None
    grid, labels = examples.grid, examples.y[:: examples.grid.ages]
    trained_videos = examples.split.slices == "train"
    rows = curve_rows(grid, labels, trained_videos)
    shuffled = rows.sample(frac=1, random_state=3)
    cut = [shuffled.iloc[at] for at in np.array_split(np.arange(len(rows)), parts)]
    merged = pd.concat(cut[::-1], ignore_index=True)
    # when the curves are built from them a column at a time
    curves = curves_of(
        merged[list(KEYS)],
        lambda name: merged[name].to_numpy(),
        frozen.ages,
        frozen.threshold,
        MIN_GROUP_VIDEOS,
    )
    # then they are the curves of the whole train slice, as the trained model froze them
    whole = like_curves(grid, labels, trained_videos, curves.threshold, MIN_GROUP_VIDEOS)
    assert curves == whole
    assert curves.groups == frozen.groups
