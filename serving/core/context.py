"""The number's context: how often such videos reach the threshold, for the category and
for the creator's own recent videos.

A probability of 18% means little alone; beside "typically 9% of food videos" and "13% of
your last 23 videos" a creator can judge it. Both are facts, not model outputs: the
category's share comes from the training videos (the bundle's ``category_rates``, written by
``training.train.category_rates``), the creator's from the history the answer used.
"""

from __future__ import annotations

import math
from typing import Any

from features.catalog import Language, Words, category_name

CATEGORY = Words(
    "Typically {rate} of {category} videos reach {threshold:,} likes within {days:g} days "
    "(of {videos:,} videos)",
    "通常有 {rate} 的{category}类视频在 {days:g} 天内获得 {threshold:,} 个赞"
    "（共 {videos:,} 个视频）",
)
CREATOR = Words(
    "Your last {videos:,} videos: {rate} reached {threshold:,} likes within {days:g} days",
    "你最近的 {videos:,} 个视频中，{rate} 在 {days:g} 天内获得了 {threshold:,} 个赞",
)
CREATOR_ONE = Words(
    "Your last video: {rate} reached {threshold:,} likes within {days:g} days",
    "你最近的 1 个视频中，{rate} 在 {days:g} 天内获得了 {threshold:,} 个赞",
)
CREATOR_UNKNOWN = Words(
    "Your last {videos:,} videos: how many reached {threshold:,} likes is not known",
    "你最近的 {videos:,} 个视频中，获得 {threshold:,} 个赞的比例未知",
)


def percent(rate: float) -> str:
    """A share as a creator reads it: whole percent, one decimal below 10% so that a rare
    hit does not read as 0%."""
    return f"{rate:.1%}" if 0 < rate < 0.1 else f"{rate:.0%}"


def category_typical(
    category: str | None,
    rates: dict[str, dict[str, Any]] | None,
    threshold: int,
    horizon_days: float,
    language: Language,
) -> dict[str, Any] | None:
    """The category's share of training videos that reached the threshold
    (``serving.core.answers.Typical`` fields); none for a missing or unknown category, or a
    bundle saved without the rates."""
    known = (rates or {}).get(category) if category is not None else None
    if known is None:
        return None
    rate, videos = float(known["rate"]), int(known["videos"])
    text = CATEGORY[language].format(
        rate=percent(rate),
        category=category_name(category, language),
        threshold=threshold,
        days=horizon_days,
        videos=videos,
    )
    return {"rate": round(rate, 4), "videos": videos, "text": text}


def creator_typical(
    hist_videos: float,
    hist_hit_rate: float | None,
    window: int,
    threshold: int,
    horizon_days: float,
    language: Language,
) -> dict[str, Any] | None:
    """The creator's share of recent closed videos that reached the threshold; none for a
    creator with no closed video.

    ``hist_hit_rate`` is over the last ``window`` closed videos (``features.history``), so
    the videos it is from are the fewer of ``hist_videos`` and ``window``.
    """
    if not hist_videos > 0:
        return None
    videos = max(1, round(min(hist_videos, window)))
    values = {"videos": videos, "threshold": threshold, "days": horizon_days}
    if hist_hit_rate is None or math.isnan(hist_hit_rate):
        return {"rate": None, "videos": videos, "text": CREATOR_UNKNOWN[language].format(**values)}
    words = CREATOR_ONE if videos == 1 else CREATOR
    text = words[language].format(rate=percent(hist_hit_rate), **values)
    return {"rate": round(float(hist_hit_rate), 4), "videos": videos, "text": text}
