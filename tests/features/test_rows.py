"""Raw rows: a request and a batch row of the same video are the same row."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.arrays import frame_arrays
from features.history import COLD_START
from features.inputs import Asked, Rows, request_rows
from features.matrix import feature_matrix
from features.rows import (
    HISTORY_COLUMNS,
    RAW_COLUMNS,
    SeenCounts,
    cold_start_history,
    draft_rows,
    observe_requests,
    rows_at_ages,
    with_history,
)
from features.store import CreatorStore
from tests.features.conftest import SPEC

HORIZON = SPEC.horizon_minutes
POSTED = datetime(2026, 7, 1, 12, tzinfo=UTC)
DRAFT = {
    "creator_id": "c1",
    "category": "food",
    "duration_s": 35.0,
    "posted_at": POSTED,
    "caption": "noodles at night",
    "hashtags": "#food #night",
    "creator_followers": 1200.0,
    "music_trending": True,
}
HISTORY = {
    "hist_videos": 12.0,
    "hist_median_likes": 300.0,
    "hist_p90_likes": 1500.0,
    "hist_hit_rate": 0.25,
    "hist_last_posted_at": datetime(2026, 6, 28, 8, tzinfo=UTC),
}
NOW = {
    "views": 2400.0,
    "likes": 95.0,
    "comments": 7.0,
    "replies": 2.0,
    "shares": 4.0,
    "follows": 3.0,
    "completion_rate": 0.41,
    "retention_3s": 0.72,
}
EARLIER = [(30.0, {"likes": 40.0}), (15.0, {"likes": 12.0})]


def _batch_rows(age: float) -> pd.DataFrame:
    videos = pd.DataFrame([{"video_id": "v1", **DRAFT}])
    snapshots = pd.DataFrame(
        [
            {"video_id": "v1", "age_minutes": 15.0, "likes": 12.0},
            {"video_id": "v1", "age_minutes": 30.0, "likes": 40.0},
            {"video_id": "v1", "age_minutes": 60.0, **NOW},
        ]
    )
    per_video = with_history(draft_rows(videos), pd.DataFrame([HISTORY]))
    return rows_at_ages(per_video, snapshots, np.array([age]), HORIZON)


def _request(age: float, counts: SeenCounts | None, tmp_path: Path) -> Rows:
    """One request's rows, its history all its own (the store has none)."""
    draft = {name: value for name, value in DRAFT.items() if name != "posted_at"}
    asked = Asked(draft, POSTED, age, HISTORY, counts)
    return request_rows([asked], CreatorStore(tmp_path / "no-store.sqlite"), SPEC)


def test_a_request_and_a_batch_row_of_one_video_give_the_same_features(tmp_path: Path) -> None:
    # given one video with its history and counts at an hour, as a data file gives them
    batch = _batch_rows(60.0)
    # and as a request says them
    seen = SeenCounts(NOW, [(30.0, {"likes": 40.0}), (15.0, {"likes": 12.0})])
    # when both become the model's matrix
    from_batch = feature_matrix(frame_arrays(batch, RAW_COLUMNS), SPEC)
    from_request = _request(60.0, seen, tmp_path).matrix
    # then the features are the same
    np.testing.assert_array_equal(from_request, from_batch)


def test_drafts_observe_nothing_and_counts_past_the_horizon_keep_their_age() -> None:
    drafts = observe_requests([None, None], [0.0, 0.0], HORIZON)
    assert all(np.isnan(values).all() for values in drafts.values())
    observed = observe_requests([None, SeenCounts(NOW, EARLIER)], [0.0, 2 * HORIZON], HORIZON)
    draft = {name: values[0] for name, values in observed.items()}
    late = {name: values[1] for name, values in observed.items()}
    assert np.isnan(draft["likes"])
    assert np.isnan(draft["obs_age_minutes"])
    # the label's rule reads a count past the horizon at its own age (features.labels)
    assert late["obs_age_minutes"] == 2 * HORIZON
    assert late["likes"] == 95.0
    assert (late["lag1_age_minutes"], late["lag1_likes"]) == (30.0, 40.0)
    assert (late["lag2_age_minutes"], late["lag2_likes"]) == (15.0, 12.0)


def test_a_request_row_has_every_raw_column_and_a_draft_no_counts(tmp_path: Path) -> None:
    # given a draft with its own history, when it becomes rows
    rows = _request(0.0, None, tmp_path)
    # then every raw column is there, no count, and the history it gave
    assert set(rows.arrays) == set(RAW_COLUMNS)
    assert np.isnan(rows.arrays["likes"][0])
    assert rows.arrays["hist_videos"][0] == 12.0
    assert rows.why.tolist() == [""]


def test_cold_start_history_is_the_one_definition() -> None:
    assert set(COLD_START) == set(HISTORY_COLUMNS)
    cold = cold_start_history(2)
    assert list(cold.columns) == list(HISTORY_COLUMNS)
    assert cold["hist_videos"].tolist() == [0.0, 0.0]
    assert cold["hist_median_likes"].isna().all()
