"""The video's likes against videos like it (``compared``): its percentile at its age, the
likes those that reached the threshold had by then, and the band to draw.

Read off the bundle's like curves (``models.curves``), frozen from the training videos: the
finest group with the video's category and creator size, else its category, else all
videos; the answer names the group that answered. Between two training ages each quantile
is interpolated, so a percentile never jumps because a clock ticked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from features.catalog import Language, Words, category_name
from models.curves import ALL, Curves, group_keys, share_below, size_band
from serving.core.context import percent

COMPARED = Words(
    "At {age}, {likes} likes: ahead of {share} of {group}",
    "发布 {age}后 {likes} 个赞：超过了 {share} 的{group}",
)
REACHED = Words(
    "; of those that reached {threshold:,} likes, three in four had at least {quartile} by now",
    "；其中达到 {threshold:,} 个赞的视频，四分之三此时至少有 {quartile} 个赞",
)
ALL_VIDEOS = Words("all videos", "所有视频")
CATEGORY_VIDEOS = Words("{category} videos", "{category}类视频")
SIZED = Words(
    "{category} videos from creators with {size}", "粉丝数{size}的创作者的{category}类视频"
)
SIZES = (
    Words("under 1,000 followers", "不到 1,000"),
    Words("1,000-10,000 followers", "1,000-10,000"),
    Words("10,000-100,000 followers", "10,000-100,000"),
    Words("100,000 followers or more", "100,000 以上"),
)


SIGNAL_WORDS = {
    "completion_rate": Words(
        "{value} completion: above {share} of {group} at {age}",
        "完播率 {value}：高于 {share} 的{group}（发布 {age}时）",
    ),
    "retention_3s": Words(
        "{value} still watching after 3 seconds: above {share} of {group} at {age}",
        "3 秒留存率 {value}：高于 {share} 的{group}（发布 {age}时）",
    ),
    "comments_per_view": Words(
        "{value} comments per 1,000 views: above {share} of {group} at {age}",
        "每千次播放 {value} 条评论：高于 {share} 的{group}（发布 {age}时）",
    ),
}


def age_words(minutes: float, language: Language) -> str:
    """An age as a creator says it: minutes below an hour, hours below two days, then days."""
    if minutes < 60:
        value, unit = minutes, ("min", "分钟")
    elif minutes < 2880:
        value, unit = minutes / 60, ("h", "小时")
    else:
        value, unit = minutes / 1440, ("days", "天")
    shown = f"{value:.1f}".removesuffix(".0")
    return f"{shown} {unit[0] if language == 'en' else unit[1]}"


def compared(
    curves: Curves | None,
    category: str | None,
    followers: float,
    counts: Sequence[tuple[float, float]],
    language: Language,
    signals: Mapping[str, float | None] | None = None,
) -> dict[str, Any] | None:
    """``serving.core.answers.Compared`` fields for a video's counts ((age in minutes,
    likes), the latest one placed) and its ``signals`` now (``models.curves.SIGNALS``, None
    or NaN where not given); none for a draft or a bundle without curves."""
    points = sorted((age, likes) for age, likes in counts if age > 0)
    if curves is None or not points:
        return None
    age, likes = points[-1]
    band = size_band(followers, curves.follower_edges)
    for key in group_keys(category, band):
        group = curves.groups.get(key)
        quantiles = None if group is None else _at(curves.ages, group.likes, age)
        if group is not None and quantiles is not None:
            break
    else:
        return None
    level = "all" if key == ALL else "category_and_size" if "|" in key else "category"
    share = share_below(quantiles, curves.levels, likes)
    reached = _at(curves.ages, group.reached_band, age)
    quartile = None if reached is None else reached[0]
    name = _group_name(level, category, band, language)
    sized = level == "category_and_size"
    text = COMPARED[language].format(
        age=age_words(age, language), likes=f"{likes:,.0f}", share=percent(share), group=name
    )
    if quartile is not None:
        text += REACHED[language].format(threshold=curves.threshold, quartile=f"{quartile:,.0f}")
    return {
        "group": {
            "level": level,
            "category": category if level != "all" else None,
            "size": SIZES[band][language] if sized and band is not None else None,
            "name": name,
            "videos": group.videos,
        },
        "age_minutes": round(age, 1),
        "likes": likes,
        "percentile": round(share, 3),
        "reached_quartile": quartile,
        "curve": [
            {
                "age_minutes": a,
                "reached": _band(group.reached_band[j]),
                "missed": _band(group.missed_band[j]),
            }
            for j, a in enumerate(curves.ages)
        ],
        "points": [{"age_minutes": round(a, 1), "likes": n} for a, n in points],
        "text": text,
        "signals": _signals(curves, group.signals, signals or {}, age, name, language),
    }


def _signals(
    curves: Curves,
    quantiles: dict[str, list[list[float] | None]],
    given: Mapping[str, float | None],
    age: float,
    group: str,
    language: Language,
) -> list[dict[str, Any]]:
    """Each signal given placed among the group at ``age``, with its sentence."""
    placed = []
    for key, words in SIGNAL_WORDS.items():
        value = given.get(key)
        at = None if key not in quantiles else _at(curves.ages, quantiles[key], age, either=True)
        if value is None or value != value or at is None:
            continue
        share = share_below(at, curves.levels, value)
        shown = (
            f"{value * 1000:.1f}".removesuffix(".0")
            if key == "comments_per_view"
            else (percent(value))
        )
        text = words[language].format(
            value=shown, share=percent(share), group=group, age=age_words(age, language)
        )
        placed.append({"key": key, "value": value, "percentile": round(share, 3), "text": text})
    return placed


def _group_name(level: str, category: str | None, band: int | None, language: Language) -> str:
    if level == "all" or category is None:
        return ALL_VIDEOS[language]
    named = category_name(category, language)
    if level == "category" or band is None:
        return CATEGORY_VIDEOS[language].format(category=named)
    return SIZED[language].format(category=named, size=SIZES[band][language])


def _at(
    ages: list[float], values: list[list[float] | None], age: float, either: bool = False
) -> list[float] | None:
    """The quantiles at ``age``: interpolated between the training ages around it, the last
    age's past it; none where either side has none, unless ``either`` (a rate has no value
    at posting, so early on the first age's stands in)."""
    if age >= ages[-1]:
        return values[-1]
    upper = next(j for j, a in enumerate(ages) if a > age)
    lower = max(upper - 1, 0)
    low, high = values[lower], values[upper]
    if low is None or high is None:
        return (low or high) if either else None
    span = ages[upper] - ages[lower]
    weight = (age - ages[lower]) / span if span > 0 else 1.0
    return [a + weight * (b - a) for a, b in zip(low, high, strict=True)]


def _band(values: list[float] | None) -> dict[str, float] | None:
    if values is None:
        return None
    low, median, high = values
    return {"low": low, "median": median, "high": high}
