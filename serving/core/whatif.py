"""The what-if: the same draft at each hour of the next day and at a few lengths, and the
advice, given only where a choice measurably matters for the model."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, tzinfo
from typing import Any, TypeVar

import numpy as np

from features.catalog import Language, Words
from features.inputs import variants
from likecast.zones import wall_to_utc
from models.bundle import ModelBundle
from models.explain import as_good_as_best
from serving.core.answering import interval
from serving.core.answers import DurationOption, HourOption, WhatIf
from serving.core.audience import audience
from serving.core.building import Built
from serving.core.requests import Draft

Option = TypeVar("Option", HourOption, DurationOption)
WHATIF_DURATIONS = (10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)

HOUR_MATTERS_NOT = Words(
    "Posting time makes no measurable difference for this draft.",
    "对这个草稿来说，发布时间没有可测的影响。",
)
BETTER_HOUR = Words(
    "Posting at {hour:02d}:00 raises the chance from {now:.0%} to {better:.0%}.",
    "在 {hour:02d}:00 发布，概率从 {now:.0%} 提高到 {better:.0%}。",
)
LENGTH_MATTERS_NOT = Words(
    "Video length makes no measurable difference for this draft.",
    "对这个草稿来说，视频时长没有可测的影响。",
)
BETTER_LENGTH = Words(
    "A {seconds:g}-second video raises the chance from {now:.0%} to {better:.0%}.",
    "视频时长改为 {seconds:g} 秒，概率从 {now:.0%} 提高到 {better:.0%}。",
)


def whatif(
    draft: Draft, built: Built, bundle: ModelBundle, version: str, language: Language = "en"
) -> WhatIf:
    """The draft (``built``, its row) at each hour of the next day and at a few durations;
    the advice in ``language``."""
    zone, zone_name = draft.when.zone, draft.when.zone_name
    hours = hour_options(built.posted[0], zone)
    # clamped: the what-if's own answers never warn
    matrix = variants(
        built.rows.arrays, bundle.spec, [instant for instant, _ in hours], WHATIF_DURATIONS
    )
    p = bundle.predict_matrix(matrix)
    low, high = bundle.interval(matrix[-1:], p[-1:])
    offered = [
        HourOption(posted_at=instant.astimezone(zone), local_hour=hour, probability=float(p[i]))
        for i, (instant, hour) in enumerate(hours)
    ]
    duration_options = [
        DurationOption(duration_s=d, probability=float(p[24 + i]))
        for i, d in enumerate(WHATIF_DURATIONS)
    ]
    choices = bundle.meta.draft_choices
    given = float(built.rows.arrays["duration_s"][0])
    best_hour = recommend(
        offered, choices.get("posting_time"), low[0], high[0], lambda o: o.posted_at
    )
    best_duration = recommend(
        duration_options,
        choices.get("duration"),
        low[0],
        high[0],
        lambda o: abs(np.log(o.duration_s / given)) if given == given else o.duration_s,
    )
    return WhatIf.model_validate(
        {
            "current": float(p[-1]),
            "current_interval": interval(low[0], high[0]),
            "hours": offered,
            "durations": duration_options,
            "best_hour": best_hour,
            "best_duration": best_duration,
            "advice": _advice(best_hour, best_duration, float(p[-1]), language),
            "warnings": [warning[language] for warning in built.warnings[0]],
            "model_version": version,
            "audience": audience(bundle.curves, draft.category, offered, zone_name, language),
        }
    )


def hour_options(posted: datetime, zone: tzinfo) -> list[tuple[datetime, int]]:
    """(instant in UTC, local hour) of each hour of the day on the creator's clock, from the
    posting time's hour on: the next instant the clock reads that hour, on the hour.

    A daylight-saving change neither fails nor mislabels an option: an hour the clocks
    repeat is its first occurrence (``likecast.zones``), and one they skip that day is the
    next day's, so every option is a real instant and each hour of the day comes once.
    """
    start = posted.astimezone(zone).replace(tzinfo=None, minute=0, second=0, microsecond=0)
    options = []
    for h in range(24):
        wall = start + timedelta(hours=h)
        instant, reading = wall_to_utc(wall, zone)
        while reading == "skipped":  # no such hour on that day's clock
            wall += timedelta(days=1)
            instant, reading = wall_to_utc(wall, zone)
        options.append((instant, wall.hour))
    return options


def recommend(
    options: list[Option],
    choice: dict[str, Any] | None,
    low: float,
    high: float,
    change: Callable[[Option], Any],
) -> Option | None:
    """The option to recommend, if the choice measurably matters for this model (held-out
    test at training, ``training.choices``) and an option lifts the answer above the current
    interval; otherwise none: the gain is within the model's noise.

    Options within half the interval's width of the best are as good as it, given that
    noise; of those, the smallest ``change`` from the draft as given (the soonest hour, the
    nearest length), which also keeps the advice the same across retrained models.
    """
    if not choice or not choice.get("measurable"):
        return None
    good = as_good_as_best(np.array([o.probability for o in options]), low, high)
    if good is None:
        return None
    return min((o for o, ok in zip(options, good, strict=True) if ok), key=change)


def _advice(
    hour: HourOption | None, duration: DurationOption | None, now: float, language: Language
) -> list[str]:
    """The what-if in plain words."""
    said = []
    if hour is None:
        said.append(HOUR_MATTERS_NOT[language])
    else:
        said.append(
            BETTER_HOUR[language].format(hour=hour.local_hour, now=now, better=hour.probability)
        )
    if duration is None:
        said.append(LENGTH_MATTERS_NOT[language])
    else:
        said.append(
            BETTER_LENGTH[language].format(
                seconds=duration.duration_s, now=now, better=duration.probability
            )
        )
    return said
