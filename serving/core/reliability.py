"""How reliable a prediction at a video's age is, in words a creator reads.

A probability alone hides how rough it is: on simulated data a draft's answer tells hits
from misses far less often than a day-old video's. Every answer therefore carries its age
bucket's test figures (the bundle's ``by_age``, written by training) and a sentence saying
what they mean. A bundle saved before ``by_age`` existed still answers: "unknown".
"""

from __future__ import annotations

from typing import Any

import numpy as np

from features.catalog import Language, Words
from features.spec import age_bucket

# ROC AUC -> the band (a stable key, in English) and its word in Chinese; the first band
# whose floor the AUC reaches.
AUC_BANDS: tuple[tuple[float, str], ...] = (
    (0.95, "very reliable"),
    (0.85, "good"),
    (0.70, "fair"),
    (0.55, "rough"),
    (-np.inf, "no better than guessing"),
)
BAND_WORDS: dict[str, Words] = {
    "very reliable": Words("very reliable", "非常可靠"),
    "good": Words("good", "可靠"),
    "fair": Words("fair", "尚可"),
    "rough": Words("rough", "比较粗略"),
    "no better than guessing": Words("no better than guessing", "并不比瞎猜强"),
}
# fewer test videos than this at an age, and the AUC itself can move by several points
FEW_TEST_VIDEOS = 200
UNITS = {
    "day": Words("day", "天"),
    "hour": Words("hour", "小时"),
    "minute": Words("minute", "分钟"),
}

MEASURED = Words(
    "Predictions {when} are {word}: tested on {videos:,} later videos, likecast ranked a "
    "video that went on to reach {threshold:,} likes above one that did not {auc:.0%} of the "
    "time (guessing would get 50%).",
    "{when}的预测{word}：在之后发布的 {videos:,} 个视频上测试时，likecast 把最终达到 "
    "{threshold:,} 赞的视频排在没达到的视频前面的比例是 {auc:.0%}（随机猜测为 50%）。",
)
FEW = Words(
    " With so few test videos, that figure is itself rough.",
    "测试视频这么少，这个数字本身也不太准。",
)
BEFORE_POSTING = Words("before posting", "发布前")
AFTER_POSTING = Words("from {age} after posting", "发布 {age}后起")
UNKNOWN = Words(
    "How reliable predictions {when} are is unknown: {why}.",
    "{when}的预测有多可靠还不知道：{why}。",
)
NO_FIGURES = Words(
    "this model was saved without test results by age",
    "这个模型保存时没有按视频发布时长记录测试结果",
)
NO_OPEN_VIDEO = Words(
    "no test video was still open at this age",
    "到这个时长，没有测试视频的结果还未确定",
)
ONE_WAY = Words(
    "its test videos at this age all went the same way: nothing to rank",
    "这个时长的测试视频结果全都一样，无从排序",
)
SETTLED = Words(
    "Not an estimate: the counts so far settle the outcome.",
    "这不是估计：目前的数据已经决定了结果。",
)


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


def age_in_words(minutes: float, language: Language = "en") -> str:
    """A grid age as a creator says it: "30 minutes", "2 hours", "4 days" (or in Chinese)."""
    for unit, size in (("day", 1440.0), ("hour", 60.0)):
        if minutes >= size and minutes % size == 0:
            count = int(minutes // size)
            return _count(count, unit, language)
    return _count(minutes, "minute", language)


def _count(count: float, unit: str, language: Language) -> str:
    word = UNITS[unit][language]
    if language == "zh":
        return f"{count:g} {word}"
    return f"{count:g} {word}{'s' if count != 1 else ''}"


def _when(bucket: float, language: Language) -> str:
    if bucket == 0:
        return BEFORE_POSTING[language]
    return AFTER_POSTING[language].format(age=age_in_words(bucket, language))


def _measured(
    bucket: float, scores: dict[str, Any], threshold: int, language: Language
) -> dict[str, Any]:
    """The reliability of one age bucket that the test slice measured."""
    auc, videos = float(scores["roc_auc"]), int(scores["n"])
    word = band(auc)
    text = MEASURED[language].format(
        when=_when(bucket, language),
        word=BAND_WORDS[word][language],
        videos=videos,
        threshold=threshold,
        auc=auc,
    )
    if videos < FEW_TEST_VIDEOS:
        text += FEW[language]
    return {
        "band": word,
        "text": text,
        "age_bucket_minutes": bucket,
        "roc_auc": round(auc, 4),
        "test_videos": videos,
    }


def _unknown(bucket: float, why: Words, language: Language) -> dict[str, Any]:
    return {
        "band": "unknown",
        "text": UNKNOWN[language].format(when=_when(bucket, language), why=why[language]),
        "age_bucket_minutes": bucket,
        "roc_auc": None,
        "test_videos": None,
    }


def bucket_reliability(
    by_age: dict[str, dict[str, Any]] | None,
    grid: tuple[float, ...],
    threshold: int,
    language: Language = "en",
) -> dict[float, dict[str, Any]]:
    """Each grid age's reliability (``serving.core.answers.Reliability`` fields) in
    ``language``, built once per loaded model so an answer only looks its bucket up."""
    table = {}
    for bucket in grid:
        scores = (by_age or {}).get(f"{bucket:g}")
        if by_age is None:
            table[bucket] = _unknown(bucket, NO_FIGURES, language)
        elif scores is None:
            table[bucket] = _unknown(bucket, NO_OPEN_VIDEO, language)
        elif scores.get("roc_auc") is None:
            table[bucket] = _unknown(bucket, ONE_WAY, language)
        else:
            table[bucket] = _measured(bucket, scores, threshold, language)
    return table


def settled(bucket: float, language: Language = "en") -> dict[str, Any]:
    """The reliability of an answer the counts decided: a fact, not an estimate."""
    return {
        "band": "settled",
        "text": SETTLED[language],
        "age_bucket_minutes": bucket,
        "roc_auc": None,
        "test_videos": None,
    }


def reliabilities(
    table: dict[float, dict[str, Any]],
    ages: np.ndarray,
    decided: np.ndarray,
    language: Language = "en",
) -> list[dict[str, Any]]:
    """Each answer's reliability: its age's bucket (the grid age at or below it) from
    ``table``, or ``settled`` where the counts decided it."""
    buckets = age_bucket(np.asarray(ages, dtype=float), tuple(table))
    return [
        settled(float(b), language) if d else table[float(b)]
        for b, d in zip(buckets, decided, strict=True)
    ]
