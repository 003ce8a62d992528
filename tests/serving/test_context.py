"""The number's context: the category's and the creator's typical shares, in words."""

from __future__ import annotations

import math

import pytest

from features.catalog import Language
from serving.core.context import category_typical, creator_typical, percent

RATES = {"food": {"rate": 0.0923, "videos": 1204}, "beauty": {"rate": 0.25, "videos": 1}}


@pytest.mark.parametrize(
    ("language", "text"),
    [
        ("en", "Typically 9.2% of food videos reach 1,000 likes within 7 days (of 1,204 videos)"),
        ("zh", "通常有 9.2% 的美食类视频在 7 天内获得 1,000 个赞（共 1,204 个视频）"),
    ],
)  # fmt: skip
def test_a_known_category_gets_its_training_share_in_words(language: Language, text: str) -> None:
    # given the bundle's category rates, when a food video's context is read
    typical = category_typical("food", RATES, 1000, 7.0, language)
    # then it carries the share, the videos it is from and a sentence with the threshold
    assert typical == {"rate": 0.0923, "videos": 1204, "text": text}


@pytest.mark.parametrize(
    ("category", "rates"),
    [(None, RATES), ("cooking", RATES), ("food", None), ("food", {})],
)
def test_no_category_share_for_a_missing_or_unknown_category_or_an_old_bundle(
    category: str | None, rates: dict | None
) -> None:
    assert category_typical(category, rates, 1000, 7.0, "en") is None


@pytest.mark.parametrize(
    ("hist_videos", "hit_rate", "videos", "rate", "text"),
    [
        # fewer closed videos than the window: the share is over all of them
        (23.0, 0.13, 23, 0.13, "Your last 23 videos: 13% reached 1,000 likes within 7 days"),
        # more than the window: the share is over the window's latest videos
        (80.0, 0.5, 30, 0.5, "Your last 30 videos: 50% reached 1,000 likes within 7 days"),
        (1.0, 1.0, 1, 1.0, "Your last video: 100% reached 1,000 likes within 7 days"),
        (4.0, 0.0, 4, 0.0, "Your last 4 videos: 0% reached 1,000 likes within 7 days"),
        # a caller gave the count of videos but not the share
        (12.0, math.nan, 12, None,
         "Your last 12 videos: how many reached 1,000 likes is not known"),
        (12.0, None, 12, None,
         "Your last 12 videos: how many reached 1,000 likes is not known"),
    ],
)  # fmt: skip
def test_a_creator_with_closed_videos_gets_the_share_of_the_recent_ones(
    hist_videos: float, hit_rate: float | None, videos: int, rate: float | None, text: str
) -> None:
    # given a creator's history and a window of 30 videos, when its context is read
    typical = creator_typical(hist_videos, hit_rate, 30, 1000, 7.0, "en")
    # then it says how many recent videos the share is from, and the share
    assert typical == {"rate": rate, "videos": videos, "text": text}


@pytest.mark.parametrize(
    ("hist_videos", "hit_rate", "text"),
    [
        (23.0, 0.13, "你最近的 23 个视频中，13% 在 7 天内获得了 1,000 个赞"),
        (12.0, None, "你最近的 12 个视频中，获得 1,000 个赞的比例未知"),
    ],
)  # fmt: skip
def test_the_creators_share_is_said_in_chinese(
    hist_videos: float, hit_rate: float | None, text: str
) -> None:
    typical = creator_typical(hist_videos, hit_rate, 30, 1000, 7.0, "zh")
    assert typical is not None
    assert typical["text"] == text


@pytest.mark.parametrize("hit_rate", [math.nan, 0.5])
def test_a_creator_without_closed_videos_has_no_share(hit_rate: float) -> None:
    # given no closed video (a new creator, or a caller's override of the share alone)
    # then there is no creator context: the warnings speak for an unknown creator
    assert creator_typical(0.0, hit_rate, 30, 1000, 7.0, "en") is None


@pytest.mark.parametrize(
    ("rate", "shown"),
    [(0.0, "0%"), (0.004, "0.4%"), (0.0923, "9.2%"), (0.1, "10%"), (0.134, "13%"), (1.0, "100%")],
)
def test_a_share_keeps_a_decimal_below_ten_percent(rate: float, shown: str) -> None:
    assert percent(rate) == shown
