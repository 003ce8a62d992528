"""Explanations in a creator's words: which factors moved this answer, by how many points,
and, for what a draft can still change, which way to change it.

Contributions are LightGBM's exact per-feature SHAP values (log-odds). A factor's size is
their effect on the served probability: the answer minus the answer with that push taken out
of LightGBM's log-odds (``ModelBundle.probability_without``), in percentage points; where the
blend does not use LightGBM at an age, every size is 0 and nothing is shown
(docs/adr/0028). Advice on a draft comes from the same model: the factor
is varied over its catalogue ``Choices`` and the options that beat the answer's interval
are named. Everything is computed only when a request asks, in English or Chinese.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, tzinfo

import numpy as np
import pandas as pd

from features.catalog import BY_NAME, Feature, Language, Words, category_name
from features.spec import FeatureSpec
from models.bundle import ModelBundle

MOST = 5  # factors shown per answer
# Smaller effects than this (percentage points) are not shown: the answer's own 80% interval
# is several points wide, so a change under half a point is noise a creator cannot act on.
NOISE_POINTS = 0.5
TYPICAL_FEATURES = ("completion_rate", "retention_3s")
# how old the video is and how stale its counts are: facts of the request, not of the video
TECHNICAL = frozenset({"age_minutes", "minutes_since_obs"})
GRID_ROWS = 65_536  # advice rows predicted at once, so a big batch file stays in memory

UNKNOWN = Words("unknown", "未知")
ABOVE = Words("above typical", "高于常见水平")
BELOW = Words("below typical", "低于常见水平")

COMPARED = Words("{value}, {side}{where}", "{value}，{where}{side}")
TYPICAL_WHERE = Words(" for {category} videos", "在{category}类视频中")
SAID = Words("{label}: {value}; {tail}", "{label}：{value}；{tail}")
ADVICE_WHERE = Words(" for {category} videos", "对{category}类视频来说，")
RAISES = Words(
    "this raises the chance of reaching {threshold:,} likes", "这提高了达到 {threshold:,} 赞的概率"
)
LOWERS = Words(
    "this lowers the chance of reaching {threshold:,} likes", "这降低了达到 {threshold:,} 赞的概率"
)
NOTHING_BETTER = Words(
    "this lowers the chance, but no other choice does measurably better",
    "这降低了概率，但换成别的选择也没有可测的提升",
)
MORE = Words(
    "more than usual, which raises the chance of reaching {threshold:,} likes",
    "高于一般水平，提高了达到 {threshold:,} 赞的概率",
)
LESS = Words(
    "less than usual, which lowers the chance of reaching {threshold:,} likes",
    "低于一般水平，降低了达到 {threshold:,} 赞的概率",
)
LESS_HELPS = Words(
    "less than usual, which raises the chance of reaching {threshold:,} likes",
    "低于一般水平，提高了达到 {threshold:,} 赞的概率",
)
MORE_HURTS = Words(
    "more than usual, which lowers the chance of reaching {threshold:,} likes",
    "高于一般水平，降低了达到 {threshold:,} 赞的概率",
)


# the posting-time features, each with its period on the clock (hours a day, days a week)
CLOCK_PERIODS = {"post_hour": 24.0, "post_weekday": 7.0}


@dataclass(frozen=True)
class Clock:
    """The clock a creator reads times on: a posting time is shown on it, not on the
    model's (the data's zone, ``FeatureSpec.timezone``), which a creator elsewhere would
    misread ("Posting time (Asia/Shanghai): 08:00" to a New Yorker who chose 20:00)."""

    posted: datetime  # the posting instant, with a time zone
    zone: tzinfo
    name: str  # as the label shows it: "America/New_York", "UTC-05:00", "UTC"

    def shifts(self, row: np.ndarray, spec: FeatureSpec) -> dict[str, float]:
        """What to add to each posting-time feature of ``row`` (on the model's clock) to
        read it on this one; the same shift moves the advice's options."""
        local = self.posted.astimezone(self.zone)
        mine = {
            "post_hour": local.hour + local.minute / 60 + local.second / 3600,
            "post_weekday": float(local.weekday()),
        }
        return {
            name: mine[name] - float(row[spec.positions[name]])
            for name in CLOCK_PERIODS
            if name in spec.positions and not np.isnan(row[spec.positions[name]])
        }


def on_clock(name: str, value: float, shifts: dict[str, float]) -> float:
    """A posting-time value moved onto the creator's clock (to the minute); others as they are."""
    if name not in shifts:
        return value
    period = CLOCK_PERIODS[name]
    return round((value + shifts[name]) * 60) / 60 % period


def typical_values(features: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Median of each engagement rate by category (and overall), for 'above typical' words."""
    out: dict[str, dict[str, float]] = {}
    for name in TYPICAL_FEATURES:
        column = features[name]
        medians = column.groupby(features["category"], observed=True).median().dropna()
        out[name] = {str(k): float(v) for k, v in medians.items()}
        if column.notna().any():
            out[name]["_all"] = float(column.median())
    return out


@dataclass(frozen=True)
class Advice:
    """Which options of a draft's factor do best, when they beat the answer's noise."""

    low: float  # the range of options, in the feature's own scale
    high: float


def explain(
    bundle: ModelBundle,
    matrix: np.ndarray,
    probability: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    language: Language = "en",
    clocks: Sequence[Clock] | None = None,
) -> list[list[dict[str, str | float]]]:
    """Each row's factors (``serving.core.answers.Factor`` fields), biggest first.

    Args:
        bundle: the model that answered.
        matrix: the rows it answered (the model's feature matrix).
        probability, low, high: its answers and their 80% intervals (NaN without one).
        language: ``en`` or ``zh``, the language of each factor's ``text``.
        clocks: each row's creator clock, which its posting times are shown on; without
            them, on the model's clock, named as such.
    """
    if not len(matrix):
        return []
    spec = bundle.spec
    contributions = bundle.pushes(matrix)
    points = 100 * (
        probability[:, None] - bundle.probability_without(matrix, contributions, probability)
    )
    names = list(spec.features)
    technical = np.array([name in TECHNICAL for name in names])
    shown = ~np.isnan(matrix) & ~technical & (np.abs(points) >= NOISE_POINTS)
    chosen = [
        [j for j in np.argsort(-np.abs(points[i]), kind="stable") if shown[i, j]][:MOST]
        for i in range(len(matrix))
    ]
    # a draft can still change; with an interval there is a noise to judge options against
    advisable = (matrix[:, spec.positions["age_minutes"]] == 0) & np.isfinite(high)
    # what training found measurable on held-out drafts (none recorded in older bundles)
    recorded = bundle.meta.draft_choices
    measurable = frozenset(name for name, found in recorded.items() if found.get("measurable"))
    advice = _advise(bundle, matrix, chosen, advisable, low, high, measurable)
    typical = bundle.meta.typical
    out = []
    for i, columns in enumerate(chosen):
        category = _category(matrix[i], spec)
        clock = clocks[i] if clocks is not None else None
        shifts = clock.shifts(matrix[i], spec) if clock is not None else {}
        context = Context(
            spec.threshold,
            typical,
            bool(advisable[i]),
            frozenset(recorded),
            language,
            spec.timezone if clock is None else clock.name,
        )
        out.append(
            [
                {
                    "key": names[j],
                    "direction": "up" if points[i, j] > 0 else "down",
                    "points": round(float(points[i, j]), 2),
                    "text": factor_text(
                        BY_NAME[names[j]],
                        category
                        if names[j] == "category"
                        else on_clock(names[j], float(matrix[i, j]), shifts),
                        float(points[i, j]),
                        category,
                        context,
                        _advice_on_clock(names[j], advice.get((i, j)), shifts),
                    ),
                    "contribution": round(float(contributions[i, j]), 4),
                }
                for j in columns
            ]
        )
    return out


def _advise(
    bundle: ModelBundle,
    matrix: np.ndarray,
    chosen: list[list[int]],
    advisable: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    measurable: frozenset[str],
) -> dict[tuple[int, int], Advice | None]:
    """For each shown factor an advisable row (a draft with an interval) can change, the
    options that do best, or None when no option beats the answer's interval. Only choices
    that training found to matter on held-out drafts (``measurable``) are tried: a model can
    answer differently at each caption length because it learned noise.

    Each option is the draft with that one feature changed, answered by the whole served
    model, all in one pass.
    """
    names = bundle.spec.features
    asked = [
        (i, j, choices.values)
        for i, columns in enumerate(chosen)
        if advisable[i]
        for j in columns
        if (choices := BY_NAME[names[j]].choices) is not None and choices.measured_as in measurable
    ]
    if not asked:
        return {}
    grid = matrix[[i for i, _, values in asked for _ in values]]  # a copy, one row per option
    row = 0
    for _, j, values in asked:
        grid[row : row + len(values), j] = values
        row += len(values)
    p = np.concatenate(
        [bundle.predict_matrix(grid[s : s + GRID_ROWS]) for s in range(0, len(grid), GRID_ROWS)]
    )
    out: dict[tuple[int, int], Advice | None] = {}
    row = 0
    for i, j, values in asked:
        options = p[row : row + len(values)]
        row += len(values)
        out[i, j] = best_options(np.array(values), options, matrix[i, j], low[i], high[i])
    return out


def _advice_on_clock(name: str, advice: Advice | None, shifts: dict[str, float]) -> Advice | None:
    """Advice on a posting time, its options read on the creator's clock."""
    if advice is None or name not in shifts:
        return advice
    return replace(
        advice, low=on_clock(name, advice.low, shifts), high=on_clock(name, advice.high, shifts)
    )


def as_good_as_best(options: np.ndarray, low: float, high: float) -> np.ndarray | None:
    """Which options are worth advising, by the one rule the factors and the what-if share:
    none unless the best lifts the answer above its interval (``low``, ``high``); then every
    option also above it and within half the interval's width of the best, which the noise
    cannot tell from the best.
    """
    best = float(np.max(options))
    if best <= high:
        return None
    return (options > high) & (options >= best - (high - low) / 2)


def best_options(
    values: np.ndarray, options: np.ndarray, current: float, low: float, high: float
) -> Advice | None:
    """The range of options to advise (``as_good_as_best``): the run of good options around
    the best. None when nothing beats the noise or the current value already lies in it.
    """
    good = as_good_as_best(options, low, high)
    if good is None:
        return None
    best = int(np.argmax(options))
    first = last = best
    while first > 0 and good[first - 1]:
        first -= 1
    while last < len(values) - 1 and good[last + 1]:
        last += 1
    if values[first] <= current <= values[last]:
        return None
    return Advice(float(values[first]), float(values[last]))


@dataclass(frozen=True)
class Context:
    """What every factor's words of one answer share."""

    threshold: int
    typical: dict[str, dict[str, float]]
    advisable: bool  # a draft with an interval to judge its options by
    recorded: frozenset[str]  # the choices training measured, found to matter or not
    language: Language
    zone: str = "UTC"  # the name of the clock posting times are shown on (``Clock``)


def factor_text(
    feature: Feature,
    value: object,
    points: float,
    category: str | None,
    context: Context,
    advice: Advice | None,
) -> str:
    """One factor in a sentence: what it is, its value, and which way it pushes or which way
    to change it."""
    language = context.language
    # a posting time is shown on the creator's clock (``Clock``), which the label names
    label = feature.words[language].format(zone=context.zone, threshold=context.threshold)
    if language == "en":
        label = label[:1].upper() + label[1:]
    shown, compared = _value(feature, value, category, context.typical, language)
    return SAID[language].format(
        label=label, value=shown, tail=_tail(feature, points, category, context, advice, compared)
    )


def _value(
    feature: Feature,
    value: object,
    category: str | None,
    typical: dict[str, dict[str, float]],
    language: Language,
) -> tuple[str, bool]:
    """The value as a creator reads it, compared with typical where the bundle knows it;
    and whether it was."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return UNKNOWN[language], False
    shown = feature.show(value, language)  # type: ignore[arg-type]
    known = typical.get(feature.name, {})
    where = category if category in known else "_all"
    if where not in known:
        return shown, False
    side = ABOVE if float(value) > known[where] else BELOW  # type: ignore[arg-type]
    place = (
        ""
        if where == "_all"
        else TYPICAL_WHERE[language].format(category=category_name(where, language))
    )
    return COMPARED[language].format(value=shown, side=side[language], where=place), True


def _tail(
    feature: Feature,
    points: float,
    category: str | None,
    context: Context,
    advice: Advice | None,
    compared: bool,
) -> str:
    """Which way to change the factor, or which way it pushes (``compared``: the value
    already says which side of typical it is on)."""
    language, up = context.language, points > 0
    if advice is not None and feature.choices is not None:
        choices = feature.choices
        span = choices.show(advice.low, language)
        if advice.high != advice.low:
            span += "-" + choices.show(advice.high, language)
        where = (
            ""
            if category is None
            else ADVICE_WHERE[language].format(category=category_name(category, language))
        )
        return choices.better[language].format(span=span, where=where)
    tried = feature.choices is not None and feature.choices.measured_as in context.recorded
    if context.advisable and tried and not up:
        return NOTHING_BETTER[language]
    if feature.monotone and not compared:
        # more of it never lowers (+1) or never raises (-1) the chance: its push says which
        # side of usual the value is on
        more = up == (feature.monotone > 0)
        words = (MORE if up else MORE_HURTS) if more else (LESS_HELPS if up else LESS)
        return words[language].format(threshold=context.threshold)
    return (RAISES if up else LOWERS)[language].format(threshold=context.threshold)


def _category(row: np.ndarray, spec: FeatureSpec) -> str | None:
    """The row's category code as its name; None when unknown to the model."""
    code = row[spec.positions["category"]] if "category" in spec.positions else np.nan
    return None if np.isnan(code) else spec.categories[int(code)]
