"""The predictor's answers: how reliable they are, each with its interval, and a what-if
that advises only beyond the model's noise; for bundles saved today and before."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from features.store import CreatorStore
from likecast.settings import Settings
from models.bundle import ModelBundle
from models.registry import LoadedModel
from serving.core.answers import DurationOption
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from serving.core.whatif import recommend
from training.train import TrainOutcome

SAVED = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
DRAFT = {"creator_id": "c000003", "category": "food", "duration_s": 35.0}


def predictor_for(bundle: ModelBundle, settings: Settings, tmp_path: Path) -> Predictor:
    """A predictor of ``bundle`` without a creator store: every creator is new."""
    loaded = LoadedModel(bundle, "folder", None, None)
    return Predictor(loaded, CreatorStore(tmp_path / "no-store.sqlite"), settings)


@pytest.mark.parametrize(("age", "bucket"), [(None, "0"), (45.0, "30"), (1500.0, "1440")])
def test_an_answer_carries_the_test_figures_of_its_age_bucket(
    trained: TrainOutcome, settings: Settings, tmp_path: Path, age: float | None, bucket: str
) -> None:
    # given a freshly trained model and a draft, or an early request with few likes
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    request = Draft(**DRAFT) if age is None else Early(**DRAFT, age_minutes=age, likes=3)
    # when it answers
    answer = predictor.predict([request])[0]
    # then the reliability is the test figures of the grid age at or below the request's
    measured = trained.tables["lightgbm"].loc[bucket]
    assert not answer.decided
    assert answer.reliability.age_bucket_minutes == float(bucket)
    assert answer.reliability.roc_auc == round(measured["roc_auc"], 4)
    assert answer.reliability.test_videos == measured["n"]
    assert f"{measured['roc_auc']:.0%} of the time" in answer.reliability.text


def test_an_answer_the_counts_decide_says_so_instead_of_a_test_figure(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    answer = predictor.predict([Early(**DRAFT, age_minutes=60, likes=1500)])[0]
    assert answer.decided
    assert (answer.reliability.band, answer.reliability.roc_auc) == ("settled", None)


def test_model_info_carries_the_test_metrics_by_age_as_strict_json(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    described = predictor_for(trained.bundle, settings, tmp_path).describe()
    by_age = described["metrics_by_age"]
    assert set(by_age) == set(trained.tables["lightgbm"].index) - {"all"}
    assert {"roc_auc", "log_loss", "calibration_gap", "positive_rate", "n"} <= set(by_age["0"])
    json.dumps(described, allow_nan=False)  # what /model's JSONResponse requires


def test_a_bundle_saved_before_test_figures_by_age_still_answers_unknown(
    settings: Settings, tmp_path: Path
) -> None:
    # given a bundle saved before training recorded its metrics by age
    predictor = predictor_for(ModelBundle.load(SAVED), settings, tmp_path)
    # when it answers a draft and describes itself
    answer = predictor.predict([Draft(**DRAFT)])[0]
    # then the answer says its reliability is unknown, and /model has no figures by age
    assert answer.reliability.band == "unknown"
    assert "saved without test results by age" in answer.reliability.text
    assert predictor.describe()["metrics_by_age"] is None


def _with_choices(bundle_dir: Path, settings: Settings, tmp_path: Path, choices: dict) -> Predictor:
    """A predictor of a fresh copy of the trained bundle, with its held-out test's findings
    on the draft choices replaced by ``choices``."""
    bundle = ModelBundle.load(bundle_dir)
    bundle.meta = bundle.meta.model_copy(update={"draft_choices": choices})
    return predictor_for(bundle, settings, tmp_path)


def test_an_answer_carries_an_interval_around_its_probability(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    # given the trained model, when a draft is answered
    answer = predictor_for(trained.bundle, settings, tmp_path).predict([Draft(**DRAFT)])[0]
    # then its 80% interval, for 100 videos like it, holds the probability
    assert answer.interval is not None
    assert answer.interval.low <= answer.probability <= answer.interval.high
    assert (answer.interval.level, answer.interval.of_videos) == (0.8, 100)


def test_a_model_from_before_intervals_answers_without_one(
    settings: Settings, tmp_path: Path
) -> None:
    # given a bundle saved before the blend, when a draft is answered
    predictor = predictor_for(ModelBundle.load(SAVED), settings, tmp_path)
    answer = predictor.predict([Draft(**DRAFT)])[0]
    # then it answers, and says it has no interval rather than inventing one
    assert 0 < answer.probability < 1
    assert answer.interval is None


def test_the_what_if_recommends_nothing_when_the_choice_is_not_measurable(
    bundle_dir: Path, settings: Settings, tmp_path: Path
) -> None:
    # given a model whose held-out test found neither choice measurable
    unmeasured = {"measurable": False, "loss_increase": 0.0, "standard_error": 0.01}
    choices = {"posting_time": unmeasured, "duration": unmeasured}
    # when a draft's what-if is asked for
    whatif = _with_choices(bundle_dir, settings, tmp_path, choices).whatif(Draft(**DRAFT))
    # then it scores every option but recommends none, and says so
    assert len(whatif.hours) == 24
    assert whatif.best_hour is None
    assert whatif.best_duration is None
    assert whatif.advice == [
        "Posting time makes no measurable difference for this draft.",
        "Video length makes no measurable difference for this draft.",
    ]


MEASURABLE = {"measurable": True, "loss_increase": 0.1, "standard_error": 0.01}


def _lengths(*probabilities: float) -> list[DurationOption]:
    return [
        DurationOption(duration_s=d, probability=p)
        for d, p in zip((10, 15, 30, 60), probabilities, strict=True)
    ]


@pytest.mark.parametrize(
    ("choice", "probabilities", "expected"),
    [
        # the choice was not measurable on held-out drafts: never advised
        ({**MEASURABLE, "measurable": False}, (0.9, 0.2, 0.2, 0.2), None),
        # nothing rises above the current interval (0.15 to 0.25): within the noise
        (MEASURABLE, (0.24, 0.2, 0.2, 0.22), None),
        # one option clearly best: that one
        (MEASURABLE, (0.40, 0.2, 0.2, 0.2), 10),
        # 10 s and 15 s are alike given the noise: the smaller change from the draft's 30 s
        (MEASURABLE, (0.34, 0.32, 0.2, 0.2), 15),
    ],
)
def test_the_what_if_recommends_the_smallest_change_that_beats_the_noise(
    choice: dict, probabilities: tuple[float, ...], expected: float | None
) -> None:
    # given a draft of 30 s answered at 0.2 (interval 0.15 to 0.25) and four lengths' answers
    options = _lengths(*probabilities)
    # when the what-if picks its recommendation
    picked = recommend(options, choice, 0.15, 0.25, lambda o: abs(math.log(o.duration_s / 30)))
    # then it recommends as expected
    assert (None if picked is None else picked.duration_s) == expected


def test_a_chinese_answer_says_everything_in_chinese(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    # given a new creator, an unknown category, and an early request that asks for factors
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    request = Early(
        **{**DRAFT, "category": "knitting"}, age_minutes=90, likes=60, views=900, explain=True
    )
    # when it is answered in Chinese and in English
    chinese = predictor.predict([request], "zh")[0]
    english = predictor.predict([request], "en")[0]
    # then the numbers and factor keys agree, and every text of the Chinese one is Chinese
    assert chinese.probability == english.probability
    assert chinese.factors
    assert english.factors
    assert [f.key for f in chinese.factors] == [f.key for f in english.factors]
    assert chinese.growth is not None
    texts = [
        chinese.reliability.text,
        *chinese.warnings,
        *(f.text for f in chinese.factors),
        chinese.growth.text,
    ]
    assert len(chinese.warnings) == 2, "the unknown category and the new creator"
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in text) for text in texts), texts
    assert "类别“knitting”未知" in chinese.warnings[0]
    assert english.warnings[0] == "category 'knitting' is unknown; scored as unknown"


@pytest.mark.parametrize(
    ("language", "advice"),
    [
        ("en", ["Posting time makes no measurable difference for this draft.",
                "Video length makes no measurable difference for this draft."]),
        ("zh", ["对这个草稿来说，发布时间没有可测的影响。",
                "对这个草稿来说，视频时长没有可测的影响。"]),
    ],
)  # fmt: skip
def test_the_what_if_advice_speaks_the_language_asked_for(
    bundle_dir: Path, settings: Settings, tmp_path: Path, language: str, advice: list[str]
) -> None:
    unmeasured = {"measurable": False, "loss_increase": 0.0, "standard_error": 0.01}
    predictor = _with_choices(bundle_dir, settings, tmp_path, {"posting_time": unmeasured})
    assert predictor.whatif(Draft(**DRAFT), language).advice == advice  # type: ignore[arg-type]


def test_explain_on_an_answer_the_counts_decided_gives_no_factors(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    # given an early request already past the threshold, asking for factors
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    answer = predictor.predict([Early(**DRAFT, age_minutes=60, likes=1500, explain=True)])[0]
    # then the answer is the counts', and no model factor explains it
    assert answer.decided
    assert answer.factors == []


@pytest.mark.parametrize(
    ("history", "creator"),
    [
        # no store here: no creator context, the warnings say the history is unknown
        (None, None),
        # the caller's history: the share of its 12 videos
        ({"hist_videos": 12, "hist_hit_rate": 0.25}, {"rate": 0.25, "videos": 12}),
        # more closed videos than the window: the share is over the window's videos
        ({"hist_videos": 80, "hist_hit_rate": 0.5}, {"rate": 0.5, "videos": 30}),
    ],
)
def test_an_answer_carries_the_typical_shares_of_its_category_and_creator(
    trained: TrainOutcome,
    settings: Settings,
    tmp_path: Path,
    history: dict | None,
    creator: dict | None,
) -> None:
    # given the trained model and a food draft, with or without the creator's history
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    answer = predictor.predict([Draft(**DRAFT, history=history)])[0]
    # then the context holds the food videos' share in training and the creator's share
    assert answer.context is not None
    food = trained.bundle.meta.category_rates["food"]
    assert answer.context.category is not None
    assert answer.context.category.rate == round(food["rate"], 4)
    assert answer.context.category.videos == food["videos"]
    assert f"of {food['videos']:,} videos" in answer.context.category.text
    if creator is None:
        assert answer.context.creator is None
        assert any(
            "has no creator store" in w and "history is unknown" in w for w in answer.warnings
        )
    else:
        assert answer.context.creator is not None
        assert answer.context.creator.model_dump(exclude={"text"}) == creator
        assert f"Your last {creator['videos']} videos" in answer.context.creator.text


def test_an_unknown_category_has_no_category_context(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    predictor = predictor_for(trained.bundle, settings, tmp_path)
    answer = predictor.predict([Draft(**{**DRAFT, "category": "knitting"})])[0]
    assert answer.context is not None
    assert answer.context.category is None


@pytest.mark.parametrize(
    ("counts", "growth"),
    [
        # a draft: no counts, no growth
        (None, None),
        # one count: the speed since posting
        ({"age_minutes": 120, "likes": 50}, (25.0, None, "unknown")),
        # the counts now and an hour before: 30 likes in the first hour, 30 in half an hour
        (
            {"age_minutes": 90, "likes": 60, "earlier": [{"age_minutes": 60, "likes": 30}]},
            (60.0, 30.0, "rising"),
        ),
        # three counts: the latest two stretches, 40/h then 20/h
        (
            {
                "age_minutes": 180,
                "likes": 60,
                "earlier": [{"age_minutes": 60, "likes": 0}, {"age_minutes": 120, "likes": 40}],
            },
            (20.0, 40.0, "falling"),
        ),
    ],
)
def test_an_early_answer_says_the_growth_its_counts_show(
    trained: TrainOutcome,
    settings: Settings,
    tmp_path: Path,
    counts: dict | None,
    growth: tuple | None,
) -> None:
    # given a draft, or an early request with its counts now and earlier
    request = Draft(**DRAFT) if counts is None else Early(**DRAFT, **counts)
    # when it is answered
    answer = predictor_for(trained.bundle, settings, tmp_path).predict([request])[0]
    # then its growth is the like speed of the latest stretches, with the trend
    if growth is None:
        assert answer.growth is None
    else:
        assert answer.growth is not None
        seen = answer.growth
        assert (seen.likes_per_hour, seen.earlier_likes_per_hour, seen.trend) == growth
        assert seen.text


def test_an_old_bundle_without_category_rates_still_answers_with_the_creators_context(
    settings: Settings, tmp_path: Path
) -> None:
    # given a bundle saved before training recorded the category rates
    predictor = predictor_for(ModelBundle.load(SAVED), settings, tmp_path)
    history = {"hist_videos": 5, "hist_hit_rate": 0.2}
    # when it answers an early request with a known history
    answer = predictor.predict([Early(**DRAFT, history=history, age_minutes=60, likes=3)])[0]
    # then the category context is missing, the creator's and the growth are there
    assert answer.context is not None
    assert answer.context.category is None
    assert answer.context.creator is not None
    assert answer.context.creator.rate == 0.2
    assert answer.growth is not None
    assert answer.growth.likes_per_hour == 3.0
    assert predictor.describe()["category_rates"] is None


def test_model_info_carries_the_category_rates(
    trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    described = predictor_for(trained.bundle, settings, tmp_path).describe()
    assert described["category_rates"] == trained.bundle.meta.category_rates
    assert {"rate", "videos"} == set(described["category_rates"]["food"])
    json.dumps(described, allow_nan=False)
