"""How reliable a prediction at a video's age is, in words a creator reads.

A probability alone hides how rough it is: on simulated data a draft's answer tells hits
from misses far less often than a day-old video's. Every answer therefore carries its age
bucket's test figures (the bundle's ``by_age``, written by training) and a sentence saying
what they mean. A bundle saved before ``by_age`` existed still answers: "unknown".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from features.spec import age_bucket

# ROC AUC -> the word a creator reads; the first band whose floor the AUC reaches.
AUC_BANDS: tuple[tuple[float, str], ...] = (
    (0.95, "very reliable"),
    (0.85, "good"),
    (0.70, "fair"),
    (0.55, "rough"),
    (-np.inf, "no better than guessing"),
)
# fewer test videos than this at an age, and the AUC itself can move by several points
FEW_TEST_VIDEOS = 200


def band(roc_auc: float) -> str:
    """The plain word for a test ROC AUC, from ``AUC_BANDS``.

    ROC AUC is the share of (hit, miss) pairs the model ranks the right way round, so 0.5 is
    a coin toss whatever the hit rate, which makes it the one figure comparable across ages.
    The cut points follow the usual reading of discrimination (below 0.7 poor, 0.7-0.8
    acceptable, above 0.8 good; Hosmer and Lemeshow, *Applied Logistic Regression*),
    shifted up: a creator acts on a single video's number, so "good" asks for more than a
    population-level screen would. Below 0.55 the model barely beats a coin (small,
    sparse data sets do that), and the word says so. The cuts are a judgement, kept here
    so that every answer and the page use the same words.
    """
    return next(word for floor, word in AUC_BANDS if roc_auc >= floor)


def age_in_words(minutes: float) -> str:
    """A grid age as a creator says it: "30 minutes", "2 hours", "4 days"."""
    for unit, size in (("day", 1440.0), ("hour", 60.0)):
        if minutes >= size and minutes % size == 0:
            count = int(minutes // size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes:g} minutes"


def _when(bucket: float) -> str:
    return "before posting" if bucket == 0 else f"from {age_in_words(bucket)} after posting"


def _measured(bucket: float, scores: dict[str, Any], threshold: int) -> dict[str, Any]:
    """The reliability of one age bucket that the test slice measured."""
    auc, videos = float(scores["roc_auc"]), int(scores["n"])
    word = band(auc)
    text = (
        f"Predictions {_when(bucket)} are {word}: tested on {videos:,} later videos, likecast "
        f"ranked a video that went on to reach {threshold:,} likes above one that did not "
        f"{auc:.0%} of the time (guessing would get 50%)."
    )
    if videos < FEW_TEST_VIDEOS:
        text += " With so few test videos, that figure is itself rough."
    return {
        "band": word,
        "text": text,
        "age_bucket_minutes": bucket,
        "roc_auc": round(auc, 4),
        "test_videos": videos,
    }


def _unknown(bucket: float, why: str) -> dict[str, Any]:
    return {
        "band": "unknown",
        "text": f"How reliable predictions {_when(bucket)} are is unknown: {why}.",
        "age_bucket_minutes": bucket,
        "roc_auc": None,
        "test_videos": None,
    }


def bucket_reliability(
    by_age: dict[str, dict[str, Any]] | None, grid: tuple[float, ...], threshold: int
) -> dict[float, dict[str, Any]]:
    """Each grid age's reliability (``serving.api.schemas.Reliability`` fields), built once
    per loaded model so an answer only looks its bucket up."""
    table = {}
    for bucket in grid:
        scores = (by_age or {}).get(f"{bucket:g}")
        if by_age is None:
            table[bucket] = _unknown(bucket, "this model was saved without test results by age")
        elif scores is None:
            table[bucket] = _unknown(bucket, "no test video was still open at this age")
        elif scores.get("roc_auc") is None:
            table[bucket] = _unknown(
                bucket, "its test videos at this age all went the same way: nothing to rank"
            )
        else:
            table[bucket] = _measured(bucket, scores, threshold)
    return table


def settled(bucket: float) -> dict[str, Any]:
    """The reliability of an answer the counts decided: a fact, not an estimate."""
    return {
        "band": "settled",
        "text": "Not an estimate: the counts so far settle the outcome.",
        "age_bucket_minutes": bucket,
        "roc_auc": None,
        "test_videos": None,
    }


def reliabilities(
    table: dict[float, dict[str, Any]], ages: np.ndarray, decided: np.ndarray
) -> list[dict[str, Any]]:
    """Each answer's reliability: its age's bucket (the grid age at or below it) from
    ``table``, or ``settled`` where the counts decided it."""
    buckets = age_bucket(np.asarray(ages, dtype=float), tuple(table))
    return [
        settled(float(b)) if d else table[float(b)] for b, d in zip(buckets, decided, strict=True)
    ]
