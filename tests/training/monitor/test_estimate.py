"""The label-free estimate: expected ROC AUC, its interval, and when it is not to be trusted."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pytest

from training.metrics import ranking_scores
from training.monitor.estimate import (
    MIN_ANSWERS,
    MIN_PAIRED_VIDEOS,
    Ranking,
    concept_check,
    estimate_by_bucket,
    estimate_group,
    expected_auc,
    judged,
    shared_draws,
    summary,
    with_concept_check,
)


def _pairwise(p: np.ndarray) -> float:
    """The expectation written out pair by pair."""
    hit_miss = np.outer(p, 1 - p)
    np.fill_diagonal(hit_miss, 0)
    above = (p[:, None] > p[None, :]) + 0.5 * (p[:, None] == p[None, :])
    return float((hit_miss * above).sum() / hit_miss.sum())


@pytest.mark.parametrize("ties", [False, True])
def test_expected_auc_is_the_pairwise_expectation(ties: bool) -> None:
    # given answers, some of them tied
    p = np.random.default_rng(3).uniform(0.01, 0.9, 300)
    if ties:
        p = np.round(p, 1)
    # when the closed form is taken, then it equals the sum over every pair
    assert expected_auc(p) == pytest.approx(_pairwise(p), abs=1e-12)


@pytest.mark.parametrize("ties", [False, True])
def test_one_sort_gives_the_auc_of_labels_and_of_resamples(ties: bool) -> None:
    # given scored rows with labels, and a resample of them (each row 0 to 3 times)
    rng = np.random.default_rng(8)
    p = rng.uniform(0, 1, 500)
    p = np.round(p, 1) if ties else p
    y = (rng.random(500) < p) * 1.0
    times = rng.integers(0, 4, 500) * 1.0
    ranking = Ranking(p)
    # when their AUC is taken from the one sort, then it is the AUC of the rows themselves
    assert ranking.auc(y, 1 - y) == pytest.approx(ranking_scores(y, p)[0], abs=1e-12)
    rows = np.repeat(np.arange(500), times.astype(int))
    resampled = ranking_scores(y[rows], p[rows])[0]
    assert ranking.auc(times * y, times * (1 - y)) == pytest.approx(resampled, abs=1e-12)


def _calibrated(rng: np.random.Generator, videos: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Answers that are calibrated by construction: two answers for some videos (one
    outcome each), labels drawn from the answers."""
    p_video = rng.beta(0.4, 4, videos)
    outcome = rng.random(videos) < p_video
    repeat = np.where(rng.random(videos) < 0.3, 2, 1)
    video = np.repeat(np.arange(videos), repeat)
    return p_video[video], outcome[video].astype(float), video.astype(str)


@pytest.mark.slow
def test_on_calibrated_answers_the_estimate_lands_within_its_interval() -> None:
    # given many windows of calibrated answers with their realized labels
    rng = np.random.default_rng(29)
    errors, covered = [], []
    for _ in range(40):
        p, y, video = _calibrated(rng, 2000)
        realized = ranking_scores(y, p)[0]
        # when each is estimated without its labels
        figures = estimate_group(p, video, seed=int(rng.integers(1 << 30)))
        errors.append(abs(float(figures["expected_auc"]) - realized))  # type: ignore[arg-type]
        covered.append(figures["auc_low"] <= realized <= figures["auc_high"])  # type: ignore[operator]
    # then the estimate is near the realized AUC and its 90% interval holds it nearly as often
    assert np.mean(errors) < 0.015
    assert np.mean(covered) >= 0.8


def test_answers_of_one_video_share_one_draw() -> None:
    # given rows of two videos and rows without a video
    codes = shared_draws(np.array(["a", "b", "a", None, None], dtype=object))
    # then rows of a video share a code and rows without one each have their own
    assert codes[0] == codes[2] != codes[1]
    assert len({codes[1], codes[3], codes[4], codes[0]}) == 4


@pytest.mark.parametrize(
    ("size", "rate", "why"),
    [(MIN_ANSWERS - 1, 0.3, "answers"), (5000, 0.001, "expected hits"), (5000, 0.3, None)],
)
def test_an_estimate_says_when_it_cannot_be_trusted(
    size: int, rate: float, why: str | None
) -> None:
    # given answers too few, with too few expected hits, or enough
    p = np.full(size, rate)
    # when estimated
    untrusted = estimate_group(p, np.arange(size).astype(str), seed=1)["untrusted"]
    # then the reason names what is short, or there is none
    assert (untrusted is None) if why is None else (why in str(untrusted))


def test_the_estimate_alerts_only_where_a_trusted_interval_lies_below_the_test_auc() -> None:
    # given answers at two ages: informative at 0 min, all alike at 60 min
    rng = np.random.default_rng(5)
    n = 2000
    p = np.r_[rng.beta(0.5, 3, n), np.full(n, 0.2)]
    answers = pd.DataFrame(
        {
            "model_version": "3",
            "threshold": 1000,
            "horizon_days": 7.0,
            "age_minutes": np.r_[np.zeros(n), np.full(n, 60.0)],
            "probability": p,
            "video_id": np.r_[np.arange(n), np.arange(n)].astype(str),
            "logged_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    table = estimate_by_bucket(answers, {"3": (0.0, 60.0)}, seed=2)
    # when judged against test AUCs of 0.7 at both ages
    tests = {"3": {"0": {"roc_auc": 0.7}, "60": {"roc_auc": 0.7}}}
    out = judged(table, tests).set_index("age_bucket")
    # then only the bucket whose answers cannot rank alerts, and the summary says so
    assert out.loc["0", "expected_auc"] > 0.7
    assert not out.loc["0", "alert"]
    assert out.loc["60", "alert"]
    brief = summary(judged(table, tests), answers, datetime(2026, 1, 1, tzinfo=UTC))
    assert brief.model_version == "3"
    assert brief.alert is True
    assert {name for name in brief.figures if name.startswith("roc_auc@")} == {
        "roc_auc@all",
        "roc_auc@0",
        "roc_auc@60",
    }
    assert brief.figures["trusted@60"] in (0.0, 1.0)


def _asked_twice(rng: np.random.Generator, videos: int, lead: float) -> pd.DataFrame:
    """Each video answered at posting and again an hour later, when half the hits have
    reached the threshold (answer 1, decided) and the rest are open (the chance left); the
    outcome drawn from the first answer times ``lead`` (1: the inputs lead where they did at
    training; more: the platform now rewards them more)."""
    first = rng.beta(0.5, 3, videos)
    outcome = rng.random(videos) < np.clip(first * lead, 0, 1)
    reached = outcome & (rng.random(videos) < 0.5)
    later = np.where(reached, 1.0, 0.5 * first / (1 - 0.5 * first))
    return pd.DataFrame(
        {
            "age_minutes": np.r_[np.zeros(videos), np.full(videos, 60.0)],
            "probability": np.r_[first, later],
            "decided": np.r_[np.zeros(videos, dtype=bool), reached],
            "video_id": np.r_[np.arange(videos), np.arange(videos)].astype(str),
        }
    )


@pytest.mark.parametrize(("lead", "most_flagged"), [(1.0, 0.1), (2.0, None)])
@pytest.mark.slow
def test_answers_that_part_from_their_earlier_selves_are_flagged(
    lead: float, most_flagged: float | None
) -> None:
    # given windows of answers asked twice, the outcomes led where training saw them or not
    rng = np.random.default_rng(11)
    flagged = []
    for _ in range(40):
        # when each window's later answers are compared with the same videos' earlier ones
        checked = concept_check(_asked_twice(rng, 2000, lead), (0.0, 60.0))
        flagged.append(bool(checked["inconsistent"].any()))
    # then calibrated answers are flagged about as often as the level allows, the others
    # (the same inputs now leading elsewhere) every time
    if most_flagged is None:
        assert all(flagged)
    else:
        assert np.mean(flagged) <= most_flagged


def test_too_few_paired_videos_are_not_compared() -> None:
    # given answers whose later ones part from the earlier, on fewer videos than the check needs
    answers = _asked_twice(np.random.default_rng(2), MIN_PAIRED_VIDEOS - 1, 2.0)
    # when checked, then the bucket is reported and not flagged
    checked = concept_check(answers, (0.0, 60.0)).set_index("age_bucket")
    assert checked.loc["60", "paired_videos"] == MIN_PAIRED_VIDEOS - 1
    assert not checked.loc["60", "inconsistent"]


@pytest.mark.parametrize(("known_gap", "flagged"), [(None, True), ({"0": 0.02, "60": 0.02}, False)])
def test_a_shift_the_known_miscalibration_explains_is_not_flagged(
    known_gap: dict[str, float] | None, flagged: bool
) -> None:
    # given later answers 0.03 above what the earlier ones imply, on 4,000 videos
    answers = _asked_twice(np.random.default_rng(4), 4000, 1.0)
    answers.loc[answers["age_minutes"] == 60.0, "probability"] += 0.03
    # when checked with the test slice's calibration gaps at both ages (0.02 each), or none
    checked = concept_check(answers, (0.0, 60.0), known_gap).set_index("age_bucket")
    # then a shift within the model's known miscalibration is not concept drift
    assert checked.loc["60", "inconsistent"] is np.bool_(flagged)


def test_an_inconsistent_bucket_is_untrusted_and_alerts() -> None:
    # given one version's answers asked twice, the outcomes now led elsewhere
    answers = _asked_twice(np.random.default_rng(6), 3000, 1.5).assign(
        model_version="3", threshold=1000, horizon_days=7.0
    )
    grids = {"3": (0.0, 60.0)}
    table = estimate_by_bucket(answers, grids, seed=2)
    tests = {"3": {"0": {"roc_auc": 0.5, "calibration_gap": 0.01}, "60": {"roc_auc": 0.5}}}
    # when the estimate is checked for concept drift and judged
    out = judged(with_concept_check(table, answers, grids, tests), tests).set_index("age_bucket")
    # then the later bucket (and so the whole) is untrusted, saying why, and alerts
    assert "concept drift" in str(out.loc["60", "untrusted"])
    assert out.loc["60", "alert"]
    assert out.loc["all", "inconsistent"]
    assert out.loc["0", "untrusted"] is None


def test_a_window_without_decided_answers_is_not_compared() -> None:
    # given answers whose later ones part from the earlier, logged without the settled ones
    # (a caller that stops asking once a video has reached the threshold)
    answers = _asked_twice(np.random.default_rng(3), 3000, 2.0)
    answers = answers[~answers["decided"]]
    # when checked, then nothing is flagged: the later answers are selected by their outcome
    assert not concept_check(answers, (0.0, 60.0))["inconsistent"].any()


@pytest.mark.parametrize(("gap", "alert"), [(0.02, True), (0.15, False)])
def test_an_estimate_from_answers_the_test_slice_found_uncalibrated_is_not_trusted(
    gap: float, alert: bool
) -> None:
    # given answers that cannot rank, of a version whose test slice found its answers off by
    # a calibration gap within training's warning, or beyond it
    n = 2000
    answers = pd.DataFrame(
        {
            "model_version": "3",
            "threshold": 1000,
            "horizon_days": 7.0,
            "age_minutes": np.zeros(n),
            "probability": np.full(n, 0.2),
            "video_id": np.arange(n).astype(str),
            "logged_at": pd.Timestamp("2026-01-01", tz="UTC"),
        }
    )
    table = estimate_by_bucket(answers, {"3": (0.0,)}, seed=2)
    # when judged against a test AUC of 0.7 with that gap
    tests = {"3": {"0": {"roc_auc": 0.7, "calibration_gap": gap}}}
    row = judged(table, tests).set_index("age_bucket").loc["0"]
    # then a calibrated version alerts; one off beyond the warning is untrusted, saying why
    assert row["alert"] == alert
    assert ("not calibrated" in str(row["untrusted"])) is not alert
