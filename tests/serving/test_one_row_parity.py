"""One request answered alone takes the one-row path (numpy scalars through the same
feature transforms, one-row short cuts in the answer); answered among others, the batch
path. Both must give the same answers, to the bit in the features."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from features.loading import Dataset
from features.matrix import feature_matrix
from features.store import CreatorStore, data_end
from likecast.settings import Settings
from models.blend import Blend
from models.registry import LoadedModel
from serving.core.one_row import OneRow
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from tests.serving.conftest import write_creator_store
from training.train import TrainOutcome


@pytest.fixture(scope="module")
def predictor(
    trained: TrainOutcome, small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> Predictor:
    """The session's model with the creator store of its data: creators have history."""
    settings = Settings(home=tmp_path_factory.mktemp("parity-home"))
    write_creator_store(small_dataset, settings)
    loaded = LoadedModel(trained.bundle, "folder", None, None)
    return Predictor(loaded, CreatorStore(settings.store_path), settings)


def varied(dataset: Dataset) -> list[Draft]:
    """Drafts and early requests of every kind a path could treat differently."""
    return [parse(body) for body in varied_bodies(dataset)]


def parse(body: dict[str, Any]) -> Draft:
    """A request body as the service validates it: with likes, an early request."""
    return (Early if "likes" in body else Draft).model_validate(body)


def varied_bodies(dataset: Dataset) -> list[dict[str, Any]]:
    """The bodies of ``varied``'s requests."""
    videos = dataset.videos
    creators = videos["creator_id"].astype(str).unique().tolist()[:3]
    middle = videos["posted_at"].sort_values().iloc[len(videos) // 2].to_pydatetime()
    later = data_end(dataset).to_pydatetime() + timedelta(days=1)  # the store's history is old
    base = {"creator_id": creators[0], "category": "food", "duration_s": 35, "posted_at": middle}
    drafts: list[dict[str, Any]] = [
        base,
        {**base, "creator_id": creators[1], "caption": "spicy noodles", "hashtags": "#a #b,#c"},
        {**base, "creator_id": creators[2], "posted_at": later, "music_trending": True},
        {**base, "creator_id": "nobody-knows-me"},  # a cold start
        {**base, "category": "astrology"},  # unknown
        {"creator_id": creators[0], "posted_at": middle},  # everything else blank
        {**base, "caption": "", "hashtags": " ", "category": None, "duration_s": None},
        {
            **base,
            "duration_s": 36_000,
            "creator_followers": 10**12,
            "caption": "x" * 2200,
            "hashtags": " ".join(f"#t{i}" for i in range(120)),
        },  # beyond the training ranges: clamped, with warnings
        {**base, "duration_s": 0.1, "creator_followers": 0},
        {**base, "posted_at": "2027-03-14T02:30:00", "timezone": "America/New_York"},  # skipped
        {**base, "posted_at": "2026-11-01T01:30:00", "timezone": "America/New_York"},  # repeated
        {**base, "posted_at": "2026-06-01T23:59:00+05:45"},
        {
            **base,
            "history": {"hist_videos": 3, "hist_hit_rate": 0.5, "hist_days_since_prev_post": 2},
        },
        {**base, "history": {"hist_median_likes": 10**9, "hist_p90_likes": 0}},
        {**base, "explain": True},
        {**base, "creator_id": "nobody-knows-me", "category": "astrology", "explain": True},
    ]
    counts = {"views": 2400, "likes": 95, "comments": 6, "shares": 2, "follows": 4}
    early: list[dict[str, Any]] = [
        {**base, **counts, "age_minutes": 60},  # a trained age
        {**base, **counts, "age_minutes": 45},  # between two
        {**base, **counts, "age_minutes": 5},  # before the first
        {**base, **counts, "age_minutes": 9000},  # past the last before the horizon
        {**base, **counts, "age_minutes": 10_200},  # past the horizon
        {**base, **counts, "age_minutes": 60, "likes": 1500},  # decided: reached
        {**base, "age_minutes": 90, "likes": 0},  # blanks: no views, no rates
        {**base, **counts, "age_minutes": 60, "completion_rate": 0.3, "retention_3s": 0.8},
        {**base, **counts, "age_minutes": 60, "earlier": [{"age_minutes": 30, "likes": 40}]},
        {
            **base,
            **counts,
            "age_minutes": 120,
            "earlier": [{"age_minutes": 30, "likes": 10}, {"age_minutes": 60, "likes": 50}],
            "explain": True,
        },
        {**base, **counts, "likes": 10**11, "views": 10**12, "age_minutes": 15},  # clamped
        {
            **base,
            **counts,
            "observed_at": middle + timedelta(hours=3),
            "creator_id": "nobody-knows-me",
        },
        {**base, **counts, "age_minutes": 10_080, "likes": 400},  # at the horizon: missed
        {**base, **counts, "age_minutes": 9_500, "likes": 900},  # the pace tail's stretch
        {
            **base,
            **counts,
            "age_minutes": 9_700,
            "likes": 980,
            "earlier": [{"age_minutes": 9_000, "likes": 700}],
        },  # the pace tail from the count before
        {**base, **counts, "age_minutes": 0.5, "likes": 3},  # before any trained count
        {**base, **counts, "age_minutes": 200, "views": None, "completion_rate": 0.5},
        {**base, **counts, "age_minutes": 75, "category": "astrology"},  # unknown, early
        {**base, **counts, "age_minutes": 30, "category": None, "duration_s": None},
        {**base, **counts, "age_minutes": 20_000, "likes": 2_000},  # long after: reached
        {
            **base,
            **counts,
            "timezone": "Asia/Kolkata",
            "posted_at": "2026-06-01T08:00:00",
            "observed_at": "2026-06-01T09:40:00",
        },
        {**base, **counts, "age_minutes": 60, "history": {"hist_videos": 0}},
        {**base, "age_minutes": 60, "likes": 0, "views": 0, "comments": 0, "shares": 0},
    ]
    return drafts + early


@pytest.mark.parametrize("language", ["en", "zh"])
def test_a_request_alone_gets_the_answer_it_gets_among_others(
    predictor: Predictor, small_dataset: Dataset, language: str
) -> None:
    # given requests of every kind
    requests = varied(small_dataset)
    # when each is answered alone (the one-row path) and all are answered together
    alone = [predictor.predict([r], language)[0] for r in requests]  # type: ignore[arg-type]
    together = predictor.predict(requests, language)  # type: ignore[arg-type]
    # then every answer is the same: probability, interval, warnings, factors and the rest
    for one, other in zip(alone, together, strict=True):
        assert one.model_dump() == other.model_dump()
    # and the requests did exercise what they were meant to
    assert any(a.decided and a.reached for a in alone)
    assert any(a.decided and not a.reached for a in alone)
    assert any(a.factors for a in alone)
    assert any(a.warnings for a in alone)
    assert len({a.probability for a in alone}) > len(alone) // 3


def test_one_rows_features_are_the_batch_paths_to_the_bit(
    predictor: Predictor, small_dataset: Dataset
) -> None:
    # given the rows of every kind of request, built together (the batch path)
    built = predictor.build(varied(small_dataset))
    spec = predictor.loaded.bundle.spec
    arrays = built.rows.arrays
    together = feature_matrix(arrays, spec, clamped=False)
    for i in range(len(together)):
        # when one row's features are computed alone
        one = feature_matrix(
            {name: values[i : i + 1] for name, values in arrays.items()}, spec, clamped=False
        )
        # then they are the same floats, blanks where blank
        assert np.array_equal(one[0], together[i], equal_nan=True), spec.features


def test_a_request_refused_alone_is_refused_among_others_for_the_same_reason(
    predictor: Predictor, small_dataset: Dataset
) -> None:
    # given a draft posted before the creator store's oldest state, among answerable ones
    oldest = predictor.store.oldest
    assert oldest is not None
    too_early = Draft(creator_id="c1", posted_at=oldest.to_pydatetime() - timedelta(days=3))
    requests = [*varied(small_dataset)[:3], too_early]
    # when it is built alone and among the others
    alone = predictor.build([too_early]).refused[0]
    among = predictor.build(requests).refused[-1]
    # then both refuse it, in the same words
    assert alone is not None
    assert among is not None
    assert str(alone) == str(among)


def test_a_batch_of_one_and_a_batch_of_all_answer_as_requests_alone(
    predictor: Predictor, small_dataset: Dataset
) -> None:
    # given the bodies of every kind of request (explanations aside: a batch caps them)
    bodies = [{**b, "explain": False} for b in varied_bodies(small_dataset)]
    # when each is answered alone, in a batch of one, and all in one batch
    alone = [predictor.predict([parse(b)])[0].model_dump() for b in bodies]
    one = [predictor.predict_batch([b]).results[0].prediction for b in bodies]
    together = predictor.predict_batch(bodies).results
    # then the three routes give each request the same answer
    assert [a.model_dump() if a else None for a in one] == alone
    assert [r.prediction.model_dump() if r.prediction else None for r in together] == alone


def test_the_what_ifs_current_answer_is_the_drafts_alone(
    predictor: Predictor, small_dataset: Dataset
) -> None:
    # given every kind of draft
    drafts = [r for r in varied(small_dataset) if not isinstance(r, Early)]
    for draft in drafts:
        # when it is answered alone (one row) and as the what-if's current row (a batch)
        said = predictor.predict([draft])[0]
        asked = predictor.whatif(draft)
        # then the probability and interval are the same
        assert round(asked.current, 4) == said.probability
        assert asked.current_interval == said.interval
        assert asked.warnings == said.warnings[: len(asked.warnings)]


def random_drafts(dataset: Dataset, n: int = 60) -> list[Draft]:
    """Seeded drafts over every input a draft has: known, unknown and blank categories,
    lengths and followers inside, at and beyond the training ranges, posting hours across
    the day in several zones, captions, hashtags, trending sounds, history overrides."""
    rng = np.random.default_rng(28)
    creators = [*dataset.videos["creator_id"].astype(str).unique().tolist()[:20], "nobody"]
    known = dataset.videos["category"].dropna().astype(str).unique().tolist()
    categories = [*known, "astrology", None]
    zones = [None, "UTC", "Asia/Shanghai", "America/New_York", "Europe/London", "Asia/Kolkata"]
    start = dataset.videos["posted_at"].min().to_pydatetime()
    span = (dataset.videos["posted_at"].max().to_pydatetime() - start) * 1.5

    def pick(options: list[Any]) -> Any:
        return options[int(rng.integers(len(options)))]  # a Python value, not numpy's

    drafts = []
    for _ in range(n):
        body: dict[str, Any] = {
            "creator_id": pick(creators),
            "category": pick(categories),
            "posted_at": (start + span * rng.random()).replace(tzinfo=None, microsecond=0),
            "timezone": pick(zones),
            "duration_s": pick([None, 0.1, 7.5, 35, 240, 36_000]),
            "creator_followers": pick([None, 0, 120, 45_000, 10**9]),
            "caption": pick([None, "", "spicy noodles at night", "x" * 500]),
            "hashtags": pick([None, "#food", "#a #b,#c", " ".join(["#t"] * 40)]),
            "music_trending": pick([None, True, False]),
        }
        if rng.random() < 0.25:
            body["history"] = {"hist_videos": int(rng.integers(0, 50)), "hist_hit_rate": 0.2}
        drafts.append(Draft.model_validate({k: v for k, v in body.items() if v is not None}))
    return drafts


@pytest.mark.parametrize("language", ["en", "zh"])
@pytest.mark.parametrize("kind", ["varied", "random"])
def test_the_one_row_path_answers_a_plain_draft_exactly_as_the_batch_path(
    predictor: Predictor, small_dataset: Dataset, language: str, kind: str
) -> None:
    # given plain drafts (no explanation): those of every kind, and many seeded ones
    one_row = predictor.one_row
    assert one_row is not None  # the session's model is a blend whose ages start at 0
    requests = varied(small_dataset) if kind == "varied" else random_drafts(small_dataset)
    drafts = [r for r in requests if one_row.takes(r)]
    assert len(drafts) >= 12
    for draft in drafts:
        built = predictor.build([draft])
        if built.refused[0] is not None:
            continue  # posted before the store's oldest state: refused before any answer
        # when its row is answered by the one-row path and by the batch path
        alone = one_row.answer(built, language)  # type: ignore[arg-type]
        batch = predictor.answers(built, language)[0]  # type: ignore[arg-type]
        said = one_row.said(built)
        model = predictor.loaded.bundle.answer_matrix(built.rows.matrix, built.rows.arrays)
        # then the one-row path did answer, and every field is the same
        assert alone is not None
        assert alone.model_dump() == batch.model_dump()
        # and so are the floats behind the rounded ones, to the bit
        assert said is not None
        assert (said.probability, said.low, said.high) == (
            model.probability[0],
            model.low[0],
            model.high[0],
        )
        settled = (model.reached[0], model.decided[0])
        assert (said.reached, said.decided) == settled == (False, False)


def test_the_one_row_path_leaves_counts_and_explanations_to_the_batch_path(
    predictor: Predictor, small_dataset: Dataset
) -> None:
    # given every kind of request
    requests = varied(small_dataset)
    # when the one-row path is asked which it takes
    assert predictor.one_row is not None
    taken = [predictor.one_row.takes(r) for r in requests]
    # then it takes exactly the drafts that ask for no explanation
    assert taken == [not isinstance(r, Early) and not r.explain for r in requests]


@pytest.mark.parametrize(
    ("weights", "intercept"), [((0.7, 0.2, 0.4), 0.1), ((1.3, 0.0, 0.05), -0.8)]
)
def test_the_one_row_blend_is_the_batch_blend_whatever_its_weights(
    predictor: Predictor, small_dataset: Dataset, weights: tuple[float, ...], intercept: float
) -> None:
    # given the model with a draft's blend weighing all three inputs (a small data set's
    # fit may lean on the early-count rule alone, where LightGBM would not count)
    bundle = predictor.loaded.bundle
    blend = bundle.calibrator
    assert isinstance(blend, Blend)
    first = replace(blend.ages[0], weights=weights, intercept=intercept)
    weighed = replace(bundle, calibrator=replace(blend, ages=(first, *blend.ages[1:])))
    one_row = OneRow.of(weighed, "local", predictor.reliability, 20)
    assert one_row is not None
    for draft in random_drafts(small_dataset, 30):
        built = predictor.build([draft])
        if built.refused[0] is not None:
            continue
        # when its row is answered by the one-row path and by the batch path
        said = one_row.said(built)
        model = weighed.answer_matrix(built.rows.matrix, built.rows.arrays)
        # then the probability and interval are the same floats
        assert said is not None
        assert (said.probability, said.low, said.high) == (
            model.probability[0],
            model.low[0],
            model.high[0],
        )
