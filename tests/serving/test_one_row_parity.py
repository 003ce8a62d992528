"""One request answered alone takes the one-row path (numpy scalars through the same
feature transforms, one-row short cuts in the answer); answered among others, the batch
path. Both must give the same answers, to the bit in the features."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest

from features.loading import Dataset
from features.matrix import feature_matrix
from features.store import CreatorStore, data_end
from likecast.settings import Settings
from models.registry import LoadedModel
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
