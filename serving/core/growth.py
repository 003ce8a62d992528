"""The growth an early answer saw: likes per hour over the latest stretch and the one before.

A creator who gives the counts now and at one or two earlier times should read what they
show ("likes per hour rising: 40 now, 12 before"), not only the probability the model made of
them. Posting counts as the first count (0 likes at age 0), so one earlier count already
gives two stretches; with the counts now alone, there is one stretch and no trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any, Literal

from features.catalog import Language, Words

Trend = Literal["rising", "steady", "falling", "unknown"]

# The latest stretch within 20% of the one before counts as steady: a stretch of a few dozen
# likes moves by about that much by chance alone (Poisson: 25 likes give or take 5), so a
# smaller change is not a trend a creator should act on.
STEADY = 0.20

TRENDS = {
    "rising": Words(
        "Likes per hour rising: {now} now, {before} before",
        "每小时点赞数在上升：现在 {now}，之前 {before}",
    ),
    "steady": Words(
        "Likes per hour steady: {now} now, {before} before",
        "每小时点赞数保持平稳：现在 {now}，之前 {before}",
    ),
    "falling": Words(
        "Likes per hour falling: {now} now, {before} before",
        "每小时点赞数在下降：现在 {now}，之前 {before}",
    ),
    "unknown": Words(
        "{now} likes per hour since posting; an earlier count would show the trend",
        "发布以来每小时 {now} 个赞；填写更早的点赞数即可看到趋势",
    ),
}


def per_hour(value: float) -> str:
    """A like speed as a creator reads it: whole likes, one decimal below 10."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.1f}".removesuffix(".0")


def trend(now: float, before: float | None) -> Trend:
    """Rising, steady or falling: the latest speed against the one before, within ``STEADY``."""
    if before is None:
        return "unknown"
    if now > before * (1 + STEADY):
        return "rising"
    if now < before * (1 - STEADY):
        return "falling"
    return "steady"


def growth(counts: Sequence[tuple[float, float]], language: Language) -> dict[str, Any] | None:
    """Likes per hour over the latest stretch and the one before, its trend and a sentence
    (``serving.core.answers.Growth`` fields); none without a count (a draft).

    Args:
        counts: (age in minutes, likes) of each count a request gave, in any order; only the
            latest two stretches are read.
        language: the language of ``text``.
    """
    by_age = {age: likes for age, likes in counts if age > 0}  # one count per age
    if not by_age:
        return None
    ordered = [(0.0, 0.0), *sorted(by_age.items())]
    speeds = [
        (likes - likes_before) / ((age - age_before) / 60.0)
        for (age_before, likes_before), (age, likes) in pairwise(ordered)
    ]
    now = speeds[-1]
    before = speeds[-2] if len(speeds) > 1 else None
    said = trend(now, before)
    shown = {"now": per_hour(now), "before": None if before is None else per_hour(before)}
    return {
        "likes_per_hour": round(now, 2),
        "earlier_likes_per_hour": None if before is None else round(before, 2),
        "trend": said,
        "text": TRENDS[said][language].format(**shown),
    }
