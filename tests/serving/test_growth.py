"""The growth an early answer saw: like speeds per stretch, their trend and its sentence."""

from __future__ import annotations

import pytest

from features.catalog import Language
from serving.core.growth import STEADY, growth, per_hour, trend


@pytest.mark.parametrize(
    ("counts", "now", "before", "said"),
    [
        # 30 likes in the 30 minutes since 60 min (60/h), 30 in the first hour (30/h)
        ([(90, 60), (60, 30)], 60.0, 30.0, "rising"),
        # 10 likes in the last half hour (20/h) after 40 in the first hour (40/h)
        ([(90, 50), (60, 40)], 20.0, 40.0, "falling"),
        # 22 likes per hour after 20: within 20%, steady
        ([(120, 42), (60, 20)], 22.0, 20.0, "steady"),
        # only the latest two stretches count: 12 -> 40 -> 100 reads 40/h then 60/h
        ([(180, 100), (120, 40), (60, 0)], 60.0, 40.0, "rising"),
        # the counts in any order
        ([(60, 30), (90, 60)], 60.0, 30.0, "rising"),
        # hours, not minutes: 5 likes over 10 minutes is 30 per hour
        ([(20, 10), (10, 5)], 30.0, 30.0, "steady"),
        # one count: the speed since posting, no trend
        ([(120, 50)], 25.0, None, "unknown"),
        # no likes at all: nothing moved, steady at zero
        ([(60, 0), (30, 0)], 0.0, 0.0, "steady"),
        # no likes before, some now: rising
        ([(60, 4), (30, 0)], 8.0, 0.0, "rising"),
        # no likes with one count: zero since posting
        ([(45, 0)], 0.0, None, "unknown"),
    ],
)
def test_growth_reads_the_latest_two_stretches(
    counts: list[tuple[float, float]], now: float, before: float | None, said: str
) -> None:
    # given the (age, likes) counts of an early request
    # when its growth is read
    seen = growth(counts, "en")
    # then the speeds, per hour, and the trend are those of the latest two stretches
    assert seen is not None
    assert seen["likes_per_hour"] == pytest.approx(now)
    assert seen["earlier_likes_per_hour"] == (None if before is None else pytest.approx(before))
    assert seen["trend"] == said


def test_a_draft_has_no_growth() -> None:
    assert growth([], "en") is None


@pytest.mark.parametrize(
    ("now", "before", "said"),
    [
        (100 * (1 + STEADY), 100.0, "steady"),
        (100 * (1 + STEADY) + 0.01, 100.0, "rising"),
        (100 * (1 - STEADY), 100.0, "steady"),
        (100 * (1 - STEADY) - 0.01, 100.0, "falling"),
        (5.0, None, "unknown"),
    ],
)
def test_the_trend_is_steady_within_the_tolerance(
    now: float, before: float | None, said: str
) -> None:
    assert trend(now, before) == said


@pytest.mark.parametrize(
    ("language", "counts", "text"),
    [
        ("en", [(90, 60), (60, 30)], "Likes per hour rising: 60 now, 30 before"),
        ("en", [(90, 50), (60, 40)], "Likes per hour falling: 20 now, 40 before"),
        ("en", [(120, 42), (60, 20)], "Likes per hour steady: 22 now, 20 before"),
        ("en", [(120, 5)],
         "2.5 likes per hour since posting; an earlier count would show the trend"),
        ("zh", [(90, 60), (60, 30)], "每小时点赞数在上升：现在 60，之前 30"),
        ("zh", [(90, 50), (60, 40)], "每小时点赞数在下降：现在 20，之前 40"),
        ("zh", [(120, 42), (60, 20)], "每小时点赞数保持平稳：现在 22，之前 20"),
        ("zh", [(120, 5)], "发布以来每小时 2.5 个赞；填写更早的点赞数即可看到趋势"),
    ],
)  # fmt: skip
def test_the_growth_is_said_in_the_requested_language(
    language: Language, counts: list[tuple[float, float]], text: str
) -> None:
    seen = growth(counts, language)
    assert seen is not None
    assert seen["text"] == text


@pytest.mark.parametrize(
    ("value", "shown"), [(0.0, "0"), (0.25, "0.2"), (2.5, "2.5"), (9.96, "10"), (12.4, "12"),
                         (1234.5, "1,234")]
)  # fmt: skip
def test_a_like_speed_is_shown_in_whole_likes_above_ten(value: float, shown: str) -> None:
    assert per_hour(value) == shown
