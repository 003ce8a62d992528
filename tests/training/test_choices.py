"""The what-if advises only on choices that measurably matter on held-out drafts."""

from __future__ import annotations

import numpy as np

from models.estimator import to_matrix
from training.choices import draft_choices
from training.train import TrainOutcome

HISTORY = ("hist_hit_rate", "hist_median_likes_log", "hist_p90_likes_log", "hist_videos")


def _drafts(trained: TrainOutcome) -> tuple[np.ndarray, np.ndarray]:
    drafts = trained.test_predictions["age_minutes"] == 0
    return to_matrix(trained.test_features[drafts]), trained.test_predictions["y"][drafts]


def test_the_creators_track_record_measurably_matters_for_a_draft(trained: TrainOutcome) -> None:
    # given held-out drafts of the simulator, where a creator's past predicts hits
    matrix, y = _drafts(trained)
    # when the track record is shuffled across them
    found = draft_choices(trained.bundle, matrix, y, seed=1, choices={"history": HISTORY})
    # then the answers get measurably worse
    assert found["history"]["measurable"], found


def test_posting_time_makes_no_measurable_difference_in_the_simulator(
    trained: TrainOutcome,
) -> None:
    # given held-out drafts of the simulator, whose posting hour does not change the outcome
    matrix, y = _drafts(trained)
    # when the posting time and the duration are shuffled across them
    found = draft_choices(trained.bundle, matrix, y, seed=1)
    # then the posting time is not measurable, so the what-if will not advise on it
    assert not found["posting_time"]["measurable"], found
    assert found["posting_time"]["loss_increase"] < 2 * found["posting_time"]["standard_error"]


def test_too_few_drafts_measure_nothing(trained: TrainOutcome) -> None:
    # given only 50 held-out drafts
    matrix, y = _drafts(trained)
    # when even the track record is tested on them, then nothing counts as measurable
    found = draft_choices(trained.bundle, matrix[:50], y[:50], seed=1, choices={"h": HISTORY})
    assert not found["h"]["measurable"]


def test_the_trained_bundle_records_what_the_what_if_may_advise_on(trained: TrainOutcome) -> None:
    recorded = trained.bundle.meta["draft_choices"]
    assert set(recorded) == {"posting_time", "duration"}
    assert all(isinstance(c["measurable"], bool) for c in recorded.values())
