"""The what-if advises only on choices that measurably matter on held-out drafts."""

from __future__ import annotations

import numpy as np

from models.estimator import to_matrix
from training.choices import draft_choices
from training.train import TrainOutcome

LIKES = ("likes_log", "projected_likes_log", "likes_per_hour", "gap_to_threshold_log")


def _drafts(trained: TrainOutcome, age: float = 0) -> tuple[np.ndarray, np.ndarray]:
    at = trained.test_predictions["age_minutes"] == age
    return to_matrix(trained.test_features[at]), trained.test_predictions["y"][at]


def test_a_choice_that_matters_is_measurable(trained: TrainOutcome) -> None:
    # given held-out videos 15 minutes old, whose early likes predict hits
    matrix, y = _drafts(trained, age=15)
    # when their likes are shuffled across them
    found = draft_choices(trained.bundle, matrix, y, seed=1, choices={"likes": LIKES})
    # then the answers get measurably worse
    assert found["likes"]["measurable"], found


def test_posting_time_makes_no_measurable_difference_in_the_simulator(
    trained: TrainOutcome,
) -> None:
    # given held-out drafts of the simulator, whose posting hour does not change the outcome
    matrix, y = _drafts(trained)
    # when the posting time and the duration are shuffled across them
    found = draft_choices(trained.bundle, matrix, y, seed=1)
    # then the posting time is not measurable, so the what-if will not advise on it
    assert not found["posting_time"]["measurable"], found
    assert found["posting_time"]["loss_increase"] <= 2 * found["posting_time"]["standard_error"]


def test_too_few_drafts_measure_nothing(trained: TrainOutcome) -> None:
    # given only 50 held-out videos
    matrix, y = _drafts(trained, age=15)
    # when even their likes are tested on them, then nothing counts as measurable
    found = draft_choices(trained.bundle, matrix[:50], y[:50], seed=1, choices={"h": LIKES})
    assert not found["h"]["measurable"]


def test_the_trained_bundle_records_what_the_what_if_may_advise_on(trained: TrainOutcome) -> None:
    recorded = trained.bundle.meta.draft_choices
    assert set(recorded) == {"posting_time", "duration", "caption", "hashtags", "music"}
    assert all(isinstance(c["measurable"], bool) for c in recorded.values())
