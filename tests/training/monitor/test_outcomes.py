"""Outcomes: logged answers joined to later counts, labeled by training's rule, and judged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.prediction_log import LoggedAnswer, log_folder, read_log
from tests.training.monitor.answers_log import write_log
from training.monitor.outcomes import below_test, coverage, join_outcomes

START = pd.Timestamp("2026-01-01", tz="UTC")
END = pd.Timestamp("2026-01-10", tz="UTC")


def _tables() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Four videos, threshold 100 within a day: a hit, a miss, one posted too late for its
    horizon to have passed by the data's end, and one whose crawl stopped early, below."""
    posted = {"hit": START, "miss": START, "late": END - pd.Timedelta(hours=12), "stopped": START}
    videos = pd.DataFrame({"video_id": list(posted), "posted_at": list(posted.values())})
    counts = [
        ("hit", 60, 50),
        ("hit", 2000, 300),
        ("miss", 60, 5),
        ("miss", 2000, 20),
        ("late", 60, 500),  # reached, but training leaves it unlabeled until its horizon
        ("stopped", 60, 5),
    ]
    snapshots = pd.DataFrame(counts, columns=["video_id", "age_minutes", "likes"])
    snapshots["observed_at"] = snapshots["video_id"].map(posted) + pd.to_timedelta(
        snapshots["age_minutes"], unit="min"
    )
    return videos, snapshots


def _answer(video_id: str | None, decided: bool = False, p: float = 0.3) -> LoggedAnswer:
    return LoggedAnswer(
        logged_at=START.to_pydatetime(),
        request_id="r",
        route="early",
        model_version="4",
        threshold=100,
        horizon_days=1.0,
        video_id=video_id,
        age_minutes=60.0,
        features={},
        probability=1.0 if decided else p,
        low=1.0 if decided else p - 0.1,
        high=1.0 if decided else p + 0.1,
        reached=decided,
        decided=decided,
    )


def test_answers_are_labeled_only_where_the_data_decides(tmp_path: Path) -> None:
    # given a log naming each video, one answer without a video, one of a video the data
    # lacks, and one the counts had decided already
    ids = ["hit", "miss", "late", "stopped", None, "elsewhere"]
    write_log(tmp_path, [*map(_answer, ids), _answer("hit", decided=True)])
    answers = read_log(log_folder(tmp_path)).answers
    videos, snapshots = _tables()
    # when joined to the data
    joined = join_outcomes(answers, videos, snapshots, END)
    # then each answer is counted once, at the stage where it stopped
    assert joined.counts == {
        "answers": 7,
        "no_video_id": 1,
        "unknown_video": 1,
        "decided": 1,
        "pending": 1,
        "undecided": 1,
        "labeled": 2,
    }
    # and the two labeled answers carry training's labels
    labels = joined.labeled.set_index("video_id")["label"].to_dict()
    assert labels == {"hit": 1.0, "miss": 0.0}


@pytest.mark.parametrize(("width", "covered"), [(0.2, 1.0), (0.001, 0.0)])
def test_coverage_is_the_share_of_bins_whose_rate_lies_in_their_interval(
    width: float, covered: float
) -> None:
    # given answers of 0.1 and 0.5 whose hit rates are 0.2 and 0.4
    p = np.r_[np.full(500, 0.1), np.full(500, 0.5)]
    y = np.r_[np.arange(500) < 100, np.arange(500) < 200].astype(float)
    # when their intervals are wide enough to hold those rates, or narrow
    share = coverage(y, p, p - width, p + width)
    # then every bin is covered, or none
    assert share == covered


@pytest.mark.parametrize(
    ("n", "rate", "high", "test", "alert"),
    [
        (1000, 0.2, 0.80, 0.90, True),  # the whole interval below the test figure
        (1000, 0.2, 0.95, 0.90, False),  # within noise
        (1000, 0.005, 0.50, 0.90, False),  # five hits: too few to judge
        (1000, 0.2, 0.80, float("nan"), False),  # no test figure at this age
    ],
)
def test_an_outcome_alerts_when_realized_auc_is_below_test_beyond_noise(
    n: int, rate: float, high: float, test: float, alert: bool
) -> None:
    row = {"n": n, "positive_rate": rate, "roc_auc_high": high, "test_roc_auc": test}
    assert below_test(row) is alert
