"""The likes against videos like it (``compared``): the group that answers, the percentile,
its sentence in both languages, and the answers that have none."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from features.catalog import Language
from features.store import CreatorStore
from likecast.settings import Settings
from models.bundle import ModelBundle
from models.curves import ALL, LEVELS, Curves, Group
from models.registry import LoadedModel
from serving.core.compared import age_words, compared
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from training.train import TrainOutcome

SAVED = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
EARLY = {"creator_id": "c000003", "category": "food", "duration_s": 35.0, "creator_followers": 1200}


def uniform(top: float) -> list[float]:
    """The 41 quantiles of likes spread evenly from 0 to ``top``."""
    return [top * level for level in LEVELS]


def group(videos: int, top_at_hour: float) -> Group:
    """A group whose likes are 0 at posting and spread evenly up to ``top_at_hour`` at 1 h."""
    return Group(
        videos=videos,
        reached=videos // 10,
        likes=[uniform(0), uniform(top_at_hour)],
        reached_band=[[0, 0, 0], [top_at_hour * 0.6, top_at_hour * 0.8, top_at_hour]],
        missed_band=[[0, 0, 0], [0, top_at_hour * 0.2, top_at_hour * 0.4]],
        # rates spread evenly over 0-1 at 1 h, comments per view over 0-0.01; none at posting
        signals={
            "completion_rate": [None, uniform(1.0)],
            "retention_3s": [None, uniform(1.0)],
            "comments_per_view": [None, uniform(0.01)],
        },
    )


# food creators of 1,000-10,000 followers (band 1), all food videos, all videos
CURVES = Curves(
    threshold=1000,
    ages=[0.0, 60.0],
    min_videos=200,
    groups={"food|1": group(300, 100), "food": group(900, 200), ALL: group(5000, 400)},
)


@pytest.mark.parametrize(
    ("category", "followers", "level", "videos", "percentile"),
    [
        ("food", 1200.0, "category_and_size", 300, 0.8),  # 80 of 0-100
        ("food", 50.0, "category", 900, 0.4),  # no group of small food creators: the category
        ("food", float("nan"), "category", 900, 0.4),  # followers unknown: the category
        ("unknown-category", 1200.0, "all", 5000, 0.2),  # no such category: all videos
        (None, 1200.0, "all", 5000, 0.2),
    ],
)
def test_the_finest_group_with_curves_answers(
    category: str | None, followers: float, level: str, videos: int, percentile: float
) -> None:
    # given 80 likes at 1 h
    # when compared for a video of this category and creator size
    said = compared(CURVES, category, followers, [(60.0, 80.0)], "en")
    # then the finest group the curves hold answers, named, with its percentile
    assert said is not None
    assert said["group"]["level"] == level
    assert said["group"]["videos"] == videos
    assert said["percentile"] == pytest.approx(percentile)


@pytest.mark.parametrize(
    ("language", "text"),
    [
        (
            "en",
            "At 1 h, 80 likes: ahead of 80% of food videos from creators with 1,000-10,000 "
            "followers; of those that reached 1,000 likes, three in four had at least 60 by now",
        ),
        (
            "zh",
            "发布 1 小时后 80 个赞：超过了 80% 的粉丝数1,000-10,000的创作者的美食类视频；"
            "其中达到 1,000 个赞的视频，四分之三此时至少有 60 个赞",
        ),
    ],
)
def test_the_sentence_says_the_percentile_and_the_reached_quartile(
    language: Language, text: str
) -> None:
    said = compared(CURVES, "food", 1200.0, [(30.0, 20.0), (60.0, 80.0)], language)
    assert said is not None
    assert said["text"] == text
    # the counts given are the video's own points, oldest first
    assert said["points"] == [
        {"age_minutes": 30.0, "likes": 20.0},
        {"age_minutes": 60.0, "likes": 80.0},
    ]


def test_between_two_ages_the_curves_are_interpolated() -> None:
    # at 30 min the food creators' likes spread from 0 to 50 (half way to 100 at 1 h)
    said = compared(CURVES, "food", 1200.0, [(30.0, 25.0)], "en")
    assert said is not None
    assert said["percentile"] == pytest.approx(0.5)


@pytest.mark.parametrize("age", [15.0, 45.0, 60.0, 600.0])
def test_more_likes_at_the_same_age_never_lower_the_percentile(
    trained: TrainOutcome, age: float
) -> None:
    # given a trained model's curves and one age
    curves = trained.bundle.curves
    # when ever more likes are placed at that age
    shares = [
        compared(curves, "food", 1200.0, [(age, float(likes))], "en")["percentile"]  # type: ignore[index]
        for likes in [0.0, *np.geomspace(1, 1e6, 400)]
    ]
    # then the percentile never falls, and runs from none of the videos to all of them
    assert all(b >= a for a, b in pairwise(shares))
    assert (shares[0], shares[-1]) == (0.0, 1.0)


@pytest.mark.parametrize(
    ("model", "request_kind", "has_compared"),
    [("older", "early", False), ("trained", "early", True), ("trained", "draft", False)],
)
def test_only_an_early_answer_of_a_model_with_curves_compares(
    trained: TrainOutcome,
    settings: Settings,
    tmp_path: Path,
    model: str,
    request_kind: str,
    has_compared: bool,
) -> None:
    # given a model saved before the like curves existed, or a freshly trained one
    bundle = ModelBundle.load(SAVED) if model == "older" else trained.bundle
    loaded = LoadedModel(bundle, "folder", None, None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "no-store.sqlite"), settings)
    # when it answers a draft or an early request
    request = (
        Draft(**EARLY) if request_kind == "draft" else Early(**EARLY, age_minutes=60.0, likes=30)
    )
    answer = predictor.predict([request])[0]
    # then only the new model's early answer compares its likes
    assert (answer.compared is not None) == has_compared


@pytest.mark.parametrize(
    ("language", "texts"),
    [
        (
            "en",
            [
                "31% completion: above 31% of food videos at 1 h",
                "2.5 comments per 1,000 views: above 25% of food videos at 1 h",
            ],
        ),
        (
            "zh",
            [
                "完播率 31%：高于 31% 的美食类视频（发布 1 小时时）",
                "每千次播放 2.5 条评论：高于 25% 的美食类视频（发布 1 小时时）",
            ],
        ),
    ],
)
def test_signals_are_placed_among_the_same_group(language: Language, texts: list[str]) -> None:
    # given a video's completion and comments per view at 1 h (its 3-second retention unknown)
    signals = {"completion_rate": 0.31, "retention_3s": None, "comments_per_view": 0.0025}
    # when compared (its creator's size unknown: the category answers)
    said = compared(CURVES, "food", float("nan"), [(60.0, 80.0)], language, signals)
    # then each signal given is placed among food videos at that age, in a sentence
    assert said is not None
    placed = said["signals"]
    assert [s["key"] for s in placed] == ["completion_rate", "comments_per_view"]
    assert [s["percentile"] for s in placed] == pytest.approx([0.31, 0.25])
    assert [s["text"] for s in placed] == texts


def test_a_signal_early_on_is_placed_at_the_first_age_with_rates() -> None:
    # at 10 min no training age before has rates (none at posting): 1 h's stand in
    said = compared(CURVES, "food", float("nan"), [(10.0, 5.0)], "en", {"completion_rate": 0.5})
    assert said is not None
    assert said["signals"][0]["percentile"] == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("minutes", "en", "zh"),
    [(45.0, "45 min", "45 分钟"), (90.0, "1.5 h", "1.5 小时"), (4320.0, "3 days", "3 天")],
)
def test_ages_read_as_a_creator_says_them(minutes: float, en: str, zh: str) -> None:
    assert (age_words(minutes, "en"), age_words(minutes, "zh")) == (en, zh)
