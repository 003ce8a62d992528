"""Explanations: each factor's size in points and its direction, at most five, biggest first;
for a draft, which way to change it, only beyond the answer's noise; in English or Chinese."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

from features.arrays import frame_arrays
from features.catalog import BY_NAME, LANGUAGES, Language
from features.matrix import feature_frame, feature_matrix
from features.rows import RAW_COLUMNS
from models.blend import Blend
from models.bundle import ModelBundle
from models.explain import (
    MOST,
    NOISE_POINTS,
    TECHNICAL,
    Advice,
    Context,
    best_options,
    explain,
    factor_text,
)
from training.train import TrainOutcome

SAVED = Path(__file__).parent / "data" / "bundle-2026-12-02"
TYPICAL = {"completion_rate": {"food": 0.3, "_all": 0.5}}
EVERY_CHOICE = ("posting_time", "duration", "caption", "hashtags", "music")


def _context(language: Language, advisable: bool = False, recorded: tuple = ()) -> Context:
    return Context(1000, TYPICAL, advisable, frozenset(recorded), language)


def _answered(bundle: ModelBundle, rows: pd.DataFrame) -> tuple[np.ndarray, ...]:
    """The open rows' matrix, answers and interval ends, as the service has them."""
    arrays = frame_arrays(rows.reset_index(drop=True), RAW_COLUMNS)
    matrix = feature_matrix(arrays, bundle.spec)
    answers = bundle.answer_matrix(matrix, arrays)
    keep = ~answers.decided
    return matrix[keep], answers.probability[keep], answers.low[keep], answers.high[keep]


def _leaning_on_lightgbm(bundle: ModelBundle, weight: float, measurable: bool) -> ModelBundle:
    """``bundle`` with its blend before posting set to LightGBM alone (times ``weight``), and
    every draft choice recorded as measurable or not."""
    blend = bundle.calibrator
    assert isinstance(blend, Blend)
    first = dataclasses.replace(blend.ages[0], weights=(weight, 0.0, 0.0), intercept=0.0)
    choices = {name: {"measurable": measurable} for name in EVERY_CHOICE}
    meta = bundle.meta.model_copy(update={"draft_choices": choices})
    return dataclasses.replace(
        bundle,
        calibrator=dataclasses.replace(blend, ages=(first, *blend.ages[1:])),
        meta=meta,
    )


@pytest.fixture(scope="module")
def drafts(trained: TrainOutcome) -> pd.DataFrame:
    rows = trained.test_rows.drop(columns="label")
    return rows[rows["age_minutes"] == 0].head(60)


# -- the rule for advice -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "current", "expected"),
    [
        # nothing lifts the answer above its interval (high 0.30): no advice
        ([0.20, 0.25, 0.30, 0.28], 0.0, None),
        # the best is 0.40; 0.36 is within half the interval's width (0.05) of it, 0.33 not
        ([0.20, 0.33, 0.36, 0.40, 0.37, 0.20], 0.0, Advice(2.0, 4.0)),
        # a good option apart from the best's run is not part of its range
        ([0.38, 0.20, 0.40, 0.39, 0.10, 0.10], 0.0, Advice(2.0, 3.0)),
        # the current value already lies in the best range: nothing to change
        ([0.20, 0.33, 0.36, 0.40, 0.37, 0.20], 3.5, None),
    ],
)
def test_advice_names_the_options_that_beat_the_noise(
    options: list[float], current: float, expected: Advice | None
) -> None:
    # given an answer of 0.25 with the interval 0.20-0.30 and each option's answer
    values = np.arange(len(options), dtype=float)
    # when the options to advise are picked, then they are those near the best beyond noise
    assert best_options(values, np.array(options), current, 0.20, 0.30) == expected


# -- the words -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "points", "advice", "english", "chinese"),
    [
        (
            "caption_len", 37.0, -2.0, Advice(10.0, 30.0),
            "Caption length: 37 characters; captions of 10-30 characters do better for food "
            "videos",
            "标题长度：37 个字；对美食类视频来说，10-30 个字的标题效果更好",
        ),
        (
            "music_trending", 0.0, -1.0, Advice(1.0, 1.0),
            "Trending music: no; a trending sound does better for food videos",
            "热门音乐：否；对美食类视频来说，用热门音乐效果更好",
        ),
        (
            "hist_median_likes_log", math.log1p(34), -3.0, None,
            "Your earlier videos' typical likes: 34; less than usual, which lowers the chance "
            "of reaching 1,000 likes",
            "你往期视频的典型点赞数：34；低于一般水平，降低了达到 1,000 赞的概率",
        ),
        (
            "hist_videos", 8.0, 1.0, None,
            "Your earlier videos with a final like count: 8; this raises the chance of reaching "
            "1,000 likes",
            "已有最终点赞数的往期视频：8 个；这提高了达到 1,000 赞的概率",
        ),
        (
            "completion_rate", 0.4, 2.0, None,
            "Completion rate: 40%, above typical for food videos; this raises the chance of "
            "reaching 1,000 likes",
            "完播率：40%，在美食类视频中高于常见水平；这提高了达到 1,000 赞的概率",
        ),
        (
            "gap_to_threshold_log", math.log(3.2), 4.0, None,
            "Likes needed to reach the goal: 3.2x the likes so far; less than usual, which "
            "raises the chance of reaching 1,000 likes",
            "达到目标所需的点赞数：目前点赞数的 3.2 倍；低于一般水平，提高了达到 1,000 赞的概率",
        ),
        (
            "likes_log", float("nan"), -1.0, None,
            "Likes: unknown; less than usual, which lowers the chance of reaching 1,000 likes",
            "点赞数：未知；低于一般水平，降低了达到 1,000 赞的概率",
        ),
    ],
)  # fmt: skip
def test_a_factor_reads_as_its_value_and_which_way_to_go(
    name: str, value: float, points: float, advice: Advice | None, english: str, chinese: str
) -> None:
    feature = BY_NAME[name]
    for language, expected in (("en", english), ("zh", chinese)):
        text = factor_text(feature, value, points, "food", _context(language), advice)  # type: ignore[arg-type]
        assert text == expected


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_draft_choice_tried_without_a_better_option_says_so(language: Language) -> None:
    # given a caption length that lowers the chance, tried on a draft where nothing beat the
    # noise, versus one on a model that never measured the choice
    tried = _context(language, advisable=True, recorded=("caption",))
    untried = _context(language, advisable=True)
    caption = BY_NAME["caption_len"]
    # then the first says no change helps measurably; the second only says which way it pushes
    assert factor_text(caption, 37.0, -1.0, None, tried, None).endswith(
        {"en": "no other choice does measurably better", "zh": "也没有可测的提升"}[language]
    )
    assert factor_text(caption, 37.0, -1.0, None, untried, None).endswith(
        {"en": "lowers the chance of reaching 1,000 likes", "zh": "降低了达到 1,000 赞的概率"}[
            language
        ]
    )


def test_an_unknown_category_still_gets_words_without_a_category() -> None:
    caption = BY_NAME["caption_len"]
    text = factor_text(caption, 37.0, -2.0, None, _context("en"), Advice(10.0, 30.0))
    assert text == "Caption length: 37 characters; captions of 10-30 characters do better"


# -- the factors of real answers -----------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.slow
def test_factors_are_sized_in_points_biggest_first_at_most_five(
    trained: TrainOutcome, early_rows: pd.DataFrame, language: Language
) -> None:
    # given answers one to four hours after posting, where the blend uses LightGBM
    bundle = trained.bundle
    matrix, p, low, high = _answered(bundle, early_rows)
    # when they are explained
    explained = explain(bundle, matrix, p, low, high, language)
    # then each has at most five factors, biggest first, none below the noise floor or
    # technical, each with the direction of its sign
    assert len(explained) == len(matrix)
    assert any(explained), "an hour after posting, some factor moves some answer"
    for factors in explained:
        sizes = [abs(f["points"]) for f in factors]
        assert len(factors) <= MOST
        assert sizes == sorted(sizes, reverse=True)
        assert all(size >= NOISE_POINTS for size in sizes)
        assert not {f["key"] for f in factors} & TECHNICAL
        assert all(f["direction"] == ("up" if f["points"] > 0 else "down") for f in factors)
        # with a positive weight on LightGBM, a push moves the answer its own way
        assert all(np.sign(f["points"]) == np.sign(f["contribution"]) for f in factors)
    texts = " ".join(f["text"] for factors in explained for f in factors)
    assert any("\u4e00" <= ch <= "\u9fff" for ch in texts) == (language == "zh")
    assert not [name for name in BY_NAME if name in texts], "no internal names"


def test_a_factors_points_are_the_answer_without_its_push(
    trained: TrainOutcome, early_rows: pd.DataFrame
) -> None:
    # given one explained answer
    bundle = trained.bundle
    matrix, p, low, high = _answered(bundle, early_rows)
    i = next(i for i, factors in enumerate(explain(bundle, matrix, p, low, high)) if factors)
    factor = explain(bundle, matrix[i : i + 1], p[i : i + 1], low[i : i + 1], high[i : i + 1])[0][0]
    # when the served blend is asked again with LightGBM's log-odds short of that push
    log_odds = bundle.booster.predict(matrix[i : i + 1], raw_score=True)
    assert isinstance(bundle.calibrator, Blend)
    without = bundle.calibrator.probability(
        matrix[i : i + 1], log_odds - factor["contribution"], bundle.spec
    )
    # then the factor's points are the difference, in percentage points
    assert factor["points"] == pytest.approx(100 * (p[i] - without[0]), abs=0.01)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_same_factors_in_either_language(
    trained: TrainOutcome, early_rows: pd.DataFrame, language: Language
) -> None:
    bundle = trained.bundle
    matrix, p, low, high = _answered(bundle, early_rows.head(50))
    english = explain(bundle, matrix, p, low, high, "en")
    other = explain(bundle, matrix, p, low, high, language)
    strip = [[{k: v for k, v in f.items() if k != "text"} for f in fs] for fs in english]
    assert [[{k: v for k, v in f.items() if k != "text"} for f in fs] for fs in other] == strip


def test_an_age_that_does_not_use_lightgbm_has_no_factors(
    trained: TrainOutcome, drafts: pd.DataFrame
) -> None:
    # given a model whose blend before posting gives LightGBM no weight (it fell back)
    bundle = _leaning_on_lightgbm(trained.bundle, 0.0, measurable=True)
    # when drafts are explained, then nothing is shown: that model did not answer
    matrix, p, low, high = _answered(bundle, drafts)
    assert explain(bundle, matrix, p, low, high) == [[] for _ in range(len(matrix))]


def test_a_draft_is_advised_only_toward_options_that_beat_its_interval(
    trained: TrainOutcome, drafts: pd.DataFrame
) -> None:
    # given a model that answers drafts by LightGBM alone, and draft choices that matter
    bundle = _leaning_on_lightgbm(trained.bundle, 1.0, measurable=True)
    matrix, p, low, high = _answered(bundle, drafts)
    explained = explain(bundle, matrix, p, low, high)
    # when a factor advises a change
    advised = [
        (i, f) for i, factors in enumerate(explained) for f in factors if _advises(f["text"])
    ]
    assert advised, "some draft of 60 gets advice"
    # then the draft at each end of the advised range answers above its interval
    for i, factor in advised:
        choices = BY_NAME[factor["key"]].choices
        assert choices is not None
        span = factor["text"].split("; ")[1]
        shown = {choices.show(v, "en"): v for v in choices.values}
        ends = [shown[part] for part in _span_ends(span, shown)]
        changed = np.repeat(matrix[i : i + 1], len(ends), axis=0)
        changed[:, bundle.spec.positions[factor["key"]]] = ends
        assert (bundle.predict_matrix(changed) > high[i]).all(), factor["text"]


def _advises(text: str) -> bool:
    return " do better" in text or " does better" in text


def _span_ends(span: str, shown: dict[str, float]) -> list[str]:
    """The options named in an advice's range ("10-30", "Monday-Tuesday", "a trending sound")."""
    for token in span.split():
        first, _, last = token.partition("-")
        if first in shown and last in shown:
            return [first, last]
    single = [t for t in span.split() if t in shown] or [n for n in shown if " " in n and n in span]
    assert len(single) == 1, (span, list(shown))
    return single


def test_no_advice_when_the_choices_make_no_measurable_difference(
    trained: TrainOutcome, drafts: pd.DataFrame
) -> None:
    # given the same model, but training found no draft choice to matter on held-out drafts
    bundle = _leaning_on_lightgbm(trained.bundle, 1.0, measurable=False)
    matrix, p, low, high = _answered(bundle, drafts)
    # when drafts are explained, then factors are shown but no change is advised
    explained = explain(bundle, matrix, p, low, high)
    assert any(explained)
    assert not [f for fs in explained for f in fs if _advises(f["text"])]


def test_a_bundle_saved_before_the_blend_still_explains() -> None:
    # given a bundle whose calibrator is a Platt map, and no interval or recorded choices
    bundle = ModelBundle.load(SAVED / "bundle")
    matrix, p, low, high = _answered(bundle, pd.read_parquet(SAVED / "rows.parquet"))
    # when its answers are explained
    explained = explain(bundle, matrix, p, low, high, "zh")
    # then the points are the calibrated answer without each push, and no advice is given
    assert any(explained)
    contributions = bundle.contributions(feature_frame(matrix, bundle.spec))  # by a frame
    for i, factors in enumerate(explained):
        for factor in factors:
            push = contributions[factor["key"]].iloc[i]
            without = expit(logit(p[i]) - bundle.calibrator.a * push)  # type: ignore[union-attr]
            assert factor["points"] == pytest.approx(100 * (p[i] - without), abs=0.01)
            assert "效果更好" not in factor["text"]
    json.dumps(explained, allow_nan=False)


@pytest.mark.parametrize(
    ("language", "expected"),
    [("en", "Posting time (Asia/Shanghai): 15:00"), ("zh", "发布时间（Asia/Shanghai）：15:00")],
)
def test_a_posting_time_names_the_clock_it_is_read_on(language: Language, expected: str) -> None:
    # given the model's posting hour, read on the data's clock
    context = Context(1000, TYPICAL, False, frozenset(), language, "Asia/Shanghai")
    # when it is said to a creator, whose own clock may differ
    text = factor_text(BY_NAME["post_hour"], 15.0, -1.2, None, context, None)
    # then the sentence names the zone of that hour
    assert text.startswith(expected), text
