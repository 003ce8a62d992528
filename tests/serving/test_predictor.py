"""The predictor's answers: each with its interval, and a what-if that advises only beyond
the model's noise."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.store import CreatorStore
from likecast.settings import Settings
from models.registry import load_model
from serving.api.schemas import Draft
from serving.predictor import Predictor

OLD_BUNDLE = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
DRAFT = Draft(creator_id="c000003", category="food", duration_s=35, caption="spicy noodles")


def _predictor(bundle: Path, tmp_path: Path, choices: dict | None = None) -> Predictor:
    settings = Settings(home=tmp_path)
    loaded = load_model(str(bundle), settings)
    if choices is not None:
        loaded.bundle.meta["draft_choices"] = choices
    return Predictor(loaded, CreatorStore(tmp_path / "none.sqlite"), settings)


def test_an_answer_carries_an_interval_around_its_probability(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # given the trained model, when a draft is answered
    answer = _predictor(bundle_dir, tmp_path).predict([DRAFT])[0]
    # then its 80% interval, for 100 videos like it, holds the probability
    assert answer.interval is not None
    assert answer.interval.low <= answer.probability <= answer.interval.high
    assert (answer.interval.level, answer.interval.of_videos) == (0.8, 100)


def test_a_model_from_before_intervals_answers_without_one(tmp_path: Path) -> None:
    # given a bundle saved before the blend, when a draft is answered
    answer = _predictor(OLD_BUNDLE, tmp_path).predict([DRAFT])[0]
    # then it answers, and says it has no interval rather than inventing one
    assert 0 < answer.probability < 1
    assert answer.interval is None


def test_the_what_if_recommends_nothing_when_the_choice_is_not_measurable(
    bundle_dir: Path, tmp_path: Path
) -> None:
    # given a model whose held-out test found neither choice measurable
    unmeasured = {"measurable": False, "loss_increase": 0.0, "standard_error": 0.01}
    choices = {"posting_time": unmeasured, "duration": unmeasured}
    # when a draft's what-if is asked for
    whatif = _predictor(bundle_dir, tmp_path, choices).whatif(DRAFT)
    # then it scores every option but recommends none, and says so
    assert len(whatif.hours) == 24
    assert whatif.best_hour is None
    assert whatif.best_duration is None
    assert whatif.advice == [
        "Posting time makes no measurable difference for this draft.",
        "Video length makes no measurable difference for this draft.",
    ]


@pytest.mark.parametrize("choice", ["posting_time", "duration"])
def test_a_measurable_choice_is_recommended_only_above_the_interval(
    bundle_dir: Path, tmp_path: Path, choice: str
) -> None:
    # given a model whose held-out test found the choice measurable
    choices = {choice: {"measurable": True, "loss_increase": 0.1, "standard_error": 0.01}}
    # when a draft's what-if is asked for
    whatif = _predictor(bundle_dir, tmp_path, choices).whatif(DRAFT)
    # then the best option is recommended exactly when it beats the current interval's top
    options = whatif.hours if choice == "posting_time" else whatif.durations
    best = max(options, key=lambda o: o.probability)
    recommended = whatif.best_hour if choice == "posting_time" else whatif.best_duration
    assert whatif.current_interval is not None
    assert (recommended is not None) == (best.probability > whatif.current_interval.high)
    if recommended is not None:
        assert recommended == best
        assert "raises the chance" in " ".join(whatif.advice)
