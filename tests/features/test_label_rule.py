"""The label matrix: one rule labels daily, hourly and irregular crawls of known curves, and
the same rule decides ``reached``/``decided`` for a batch row and a request at every age."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from features.labels import (
    FROM_POSTING,
    INTERPOLATED,
    MISSED,
    REACHED,
    REACHED_THEN_UNSEEN,
    UNLABELED,
    known_outcome,
    label_videos,
)
from features.rows import (
    SeenCounts,
    cold_start_history,
    draft_rows,
    observe_requests,
    rows_at_ages,
    with_history,
)

THRESHOLD = 50_000
HORIZON = 3 * 1440.0
DAY = 1440.0


def labels_of(counts: list[tuple[float, float]]) -> pd.Series:
    """The label row of one video counted at (age, likes) pairs."""
    videos = pd.DataFrame({"video_id": ["v"]})
    snaps = pd.DataFrame(
        {
            "video_id": ["v"] * len(counts),
            "age_minutes": [a for a, _ in counts],
            "likes": [n for _, n in counts],
        }
    )
    return label_videos(videos, snaps, THRESHOLD, HORIZON).iloc[0]


@pytest.mark.parametrize(
    ("counts", "label", "rule", "at_horizon"),
    [
        # seen above the threshold by the horizon, then never again: reached, a lower bound
        ([(DAY, 20_000), (2 * DAY, 60_000)], 1.0, REACHED_THEN_UNSEEN, 60_000),
        # seen above it by the horizon and after: reached, likes at H interpolated
        ([(2 * DAY, 60_000), (4 * DAY, 80_000)], 1.0, REACHED, 70_000),
        # a count exactly at the horizon decides alone, either way
        ([(HORIZON, 50_000)], 1.0, REACHED, 50_000),
        ([(DAY, 1_000), (HORIZON, 49_999)], 0.0, MISSED, 49_999),
        # first count after the horizon below the threshold: likes never decrease, a miss
        ([(5 * DAY, 30_000)], 0.0, MISSED, 18_000),
        # two counts bracket the horizon: interpolated in time, 40k + 30k / 2 = 55k
        ([(2 * DAY, 40_000), (4 * DAY, 70_000)], 1.0, INTERPOLATED, 55_000),
        ([(2 * DAY, 40_000), (4 * DAY, 55_000)], 0.0, INTERPOLATED, 47_500),
        # first count after the horizon above it: interpolated from posting (0 likes at 0)
        ([(4 * DAY, 80_000)], 1.0, FROM_POSTING, 60_000),
        ([(4 * DAY, 60_000)], 0.0, FROM_POSTING, 45_000),
        ([(4 * DAY, 1_600_000), (5 * DAY, 1_700_000)], 1.0, FROM_POSTING, 1_200_000),
        # every count before the horizon and below the threshold: unknown
        ([(DAY, 10_000), (2 * DAY, 40_000)], np.nan, UNLABELED, np.nan),
        ([], np.nan, UNLABELED, np.nan),
    ],
)
def test_each_case_of_the_rule(
    counts: list[tuple[float, float]], label: float, rule: str, at_horizon: float
) -> None:
    # given one video's counts; when it is labeled
    row = labels_of(counts)
    # then its label, the case that decided it and its likes at the horizon are the rule's
    assert row["label"] == pytest.approx(label, nan_ok=True)
    assert row["labeled"] == (not np.isnan(label))
    assert row["rule"] == rule
    assert row["likes_at_horizon"] == pytest.approx(at_horizon, nan_ok=True)


@pytest.mark.parametrize(
    ("days_to_end", "label", "rule"),
    [(2.0, np.nan, "censored"), (3.0, 1.0, REACHED_THEN_UNSEEN), (10.0, 1.0, REACHED_THEN_UNSEEN)],
)
def test_a_hit_whose_horizon_passes_the_data_end_is_not_labeled(
    days_to_end: float, label: float, rule: str
) -> None:
    # given a video seen above the threshold on day 1 and never again, in data ending later
    posted = pd.Timestamp("2026-06-01", tz="UTC")
    videos = pd.DataFrame({"video_id": ["v"], "posted_at": [posted]})
    snaps = pd.DataFrame({"video_id": ["v"], "age_minutes": [DAY], "likes": [60_000]})
    # when it is labeled as training labels, knowing where the data ends
    end = posted + pd.Timedelta(days=days_to_end)
    row = label_videos(videos, snaps, THRESHOLD, HORIZON, observed_until=end).iloc[0]
    # then a horizon past the end leaves it unlabeled: its miss could not have been seen
    assert row["label"] == pytest.approx(label, nan_ok=True)
    assert row["rule"] == rule


# Known like curves (likes at an age in minutes), far from the threshold at the horizon, so
# a crawl that brackets the horizon tightly must find their true outcome.
CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "steady hit": lambda t: 25.0 * t,  # 108k at the horizon
    "steady miss": lambda t: 5.0 * t,  # 21.6k
    "fast then flat hit": lambda t: 90_000 * (1 - np.exp(-t / 600)),
    "fast then flat miss": lambda t: 30_000 * (1 - np.exp(-t / 600)),
    "late bloomer hit": lambda t: 120_000 * (t / HORIZON) ** 3,
    "late bloomer miss": lambda t: 40_000 * (t / HORIZON) ** 3,
}


def crawl_ages(kind: str) -> np.ndarray:
    """Crawl moments (minutes after posting) up to six days."""
    if kind == "hourly":
        return np.arange(60.0, 6 * DAY + 1, 60.0)
    if kind == "daily":  # at noon UTC each day, the video posted at 05:17
        return np.arange(6 * 60 + 43.0, 6 * DAY, DAY)
    if kind == "irregular":
        return np.cumsum(np.random.default_rng(7).uniform(100, 2_000, 12))
    if kind == "first after the horizon":
        return np.array([3.5 * DAY, 4.5 * DAY])
    if kind == "stopped at day 2":
        return np.arange(60.0, 2 * DAY + 1, 60.0)
    raise ValueError(kind)


CRAWLS = ("hourly", "daily", "irregular", "first after the horizon", "stopped at day 2")


def reference_label(ages: np.ndarray, likes: np.ndarray) -> float:
    """The rule as a person reads it, one video at a time (NaN: unlabeled)."""
    by = likes[ages <= HORIZON]
    if len(by) and by.max() >= THRESHOLD:
        return 1.0
    after = ages >= HORIZON
    if not after.any():
        return np.nan
    a1, n1 = ages[after][0], likes[after][0]
    if n1 < THRESHOLD:
        return 0.0
    before = ages < HORIZON
    a0, n0 = (ages[before][-1], likes[before][-1]) if before.any() else (0.0, 0.0)
    return float(n0 + (n1 - n0) * (HORIZON - a0) / (a1 - a0) >= THRESHOLD)


def crawled() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every curve crawled every way: videos and snapshots (likes rounded, as counted)."""
    ids, rows = [], []
    for curve, like in CURVES.items():
        for crawl in CRAWLS:
            video = f"{curve} / {crawl}"
            ids.append(video)
            ages = crawl_ages(crawl)
            rows.append(
                pd.DataFrame(
                    {"video_id": video, "age_minutes": ages, "likes": np.floor(like(ages))}
                )
            )
    return pd.DataFrame({"video_id": ids}), pd.concat(rows, ignore_index=True)


def test_the_label_matrix() -> None:
    # given six known curves, each crawled hourly, daily, irregularly, first after the
    # horizon and stopping at day 2
    videos, snaps = crawled()
    # when they are labeled
    labels = label_videos(videos, snaps, THRESHOLD, HORIZON).set_index("video_id")
    for video, group in snaps.groupby("video_id"):
        ages, likes = group["age_minutes"].to_numpy(), group["likes"].to_numpy()
        curve, crawl = str(video).split(" / ")
        truth = float(CURVES[curve](np.array([HORIZON]))[0] >= THRESHOLD)
        got = labels.loc[video, "label"]
        # then every label is the rule's
        assert got == pytest.approx(reference_label(ages, likes), nan_ok=True), video
        # and a crawl that brackets the horizon within a day finds the truth
        if crawl in ("hourly", "daily"):
            assert got == truth, video
        # a crawl that stopped before the horizon labels only the hits it saw
        if crawl == "stopped at day 2":
            assert got == (1.0 if likes.max() >= THRESHOLD else pytest.approx(np.nan, nan_ok=True))
    # the matrix holds every case of the rule
    assert set(labels["rule"]) == {
        REACHED,
        REACHED_THEN_UNSEEN,
        MISSED,
        INTERPOLATED,
        FROM_POSTING,
        UNLABELED,
    }


ROW_AGES = (60.0, 2 * DAY, HORIZON - 1, HORIZON, 3.2 * DAY, 4 * DAY, 5 * DAY, 6 * DAY)


@pytest.mark.parametrize("age", ROW_AGES)
def test_a_batch_row_is_decided_as_its_counts_so_far_are_labeled(age: float) -> None:
    # given every crawled video as a batch row at one age
    videos, snaps = crawled()
    per_video = with_history(draft_rows(videos), cold_start_history(len(videos)))
    rows = rows_at_ages(per_video, snaps, np.full(len(videos), age), HORIZON)
    # when the counts decide what they can
    reached, decided = known_outcome(
        rows["likes"].to_numpy(),
        rows["obs_age_minutes"].to_numpy(),
        rows["age_minutes"].to_numpy(),
        THRESHOLD,
        HORIZON,
        lag_likes=rows["lag1_likes"].to_numpy(),
        lag_age_minutes=rows["lag1_age_minutes"].to_numpy(),
    )
    # then a row is decided exactly when the counts seen by its age label the video, and
    # reached exactly when that label is 1
    so_far = label_videos(videos, snaps[snaps["age_minutes"] <= age], THRESHOLD, HORIZON)
    np.testing.assert_array_equal(decided, so_far["labeled"].to_numpy())
    np.testing.assert_array_equal(reached, (so_far["label"] == 1).to_numpy())


@pytest.mark.parametrize("crawl", CRAWLS)
@pytest.mark.parametrize("curve", list(CURVES))
def test_a_request_is_decided_as_its_counts_so_far_are_labeled(crawl: str, curve: str) -> None:
    # given a request at each crawl moment: the count then, and the counts before it
    ages = crawl_ages(crawl)
    likes = np.floor(CURVES[curve](ages))
    seen = [
        SeenCounts({"likes": likes[i]}, [(ages[j], {"likes": likes[j]}) for j in range(i)])
        for i in range(len(ages))
    ]
    # when the API's look-up reads them and the counts decide what they can
    observed = pd.DataFrame(observe_requests(seen, list(ages), HORIZON))
    reached, decided = known_outcome(
        observed["likes"].to_numpy(),
        observed["obs_age_minutes"].to_numpy(),
        ages,
        THRESHOLD,
        HORIZON,
        lag_likes=observed["lag1_likes"].to_numpy(),
        lag_age_minutes=observed["lag1_age_minutes"].to_numpy(),
    )
    # then each answer is the label of the counts seen so far, as training labels them
    for i in range(len(ages)):
        want = reference_label(ages[: i + 1], likes[: i + 1])
        assert decided[i] == (not np.isnan(want)), (i, ages[i])
        assert reached[i] == (want == 1.0), (i, ages[i])
