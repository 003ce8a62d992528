"""Explanations: each factor in plain words, in English by default or in Chinese."""

from __future__ import annotations

import math

import pandas as pd

from models.explain import describe, top_factors

TYPICAL = {"completion_rate": {"food": 0.3, "_all": 0.5}}


def test_english_words_are_those_creators_already_read() -> None:
    assert describe("duration_log", math.log(35), "food", TYPICAL) == "duration 35 s"
    assert describe("post_weekday", 2.0, None, TYPICAL) == "posting day Wednesday"
    assert describe("post_hour", 20.5, None, TYPICAL) == "posting hour 20:30"
    assert describe("music_trending", 1.0, None, TYPICAL) == "trending music yes"
    assert describe("likes_log", math.log1p(999), None, TYPICAL) == "likes 999"
    assert describe("hist_videos", float("nan"), None, TYPICAL) == (
        "earlier videos with a known outcome unknown"
    )
    assert describe("completion_rate", 0.4, "food", TYPICAL) == (
        "completion rate 0.40, above typical for food"
    )
    assert describe("completion_rate", 0.4, "music", TYPICAL) == (
        "completion rate 0.40, below typical"
    )
    assert describe("not_a_feature", 3, None, TYPICAL) == "not a feature 3"


def test_chinese_words_say_the_same() -> None:
    assert describe("duration_log", math.log(35), "food", TYPICAL, "zh") == "时长 35 秒"
    assert describe("post_weekday", 6.0, None, TYPICAL, "zh") == "发布日 星期日"
    assert describe("music_trending", 0.0, None, TYPICAL, "zh") == "热门音乐 否"
    assert describe("hist_videos", float("nan"), None, TYPICAL, "zh") == "已有结果的往期视频 未知"
    assert describe("completion_rate", 0.4, "food", TYPICAL, "zh") == (
        "完播率 0.40，高于常见水平（food类）"  # noqa: RUF001
    )


def test_top_factors_name_the_strongest_pushes_with_a_value() -> None:
    features = pd.Series(
        {
            "category": "food",
            "duration_log": math.log(35),
            "likes_log": float("nan"),
            "age_minutes": 0.0,
            "hashtag_count": 2.0,
        }
    )
    pushes = pd.Series(
        {
            "category": 0.1,
            "duration_log": -0.4,
            "likes_log": 0.9,
            "age_minutes": 0.7,
            "hashtag_count": 0.3,
            "_base": -2.0,
        }
    )
    factors = top_factors(features, pushes, {}, "zh")
    assert [f["feature"] for f in factors["up"]] == ["hashtag_count", "category"]
    assert factors["up"][0]["text"] == "话题标签 2 个"
    assert factors["down"] == [
        {"feature": "duration_log", "contribution": -0.4, "text": "时长 35 秒"}
    ]
