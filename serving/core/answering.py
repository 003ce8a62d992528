"""A request's answer from its built row: the model's probability and interval, and what
to read it against (reliability, context, growth, factors, warnings)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np

from features.arrays import NAT
from features.catalog import BY_NAME, Language, Words
from features.spec import FeatureSpec
from models.blend import GROUP, LEVEL
from models.bundle import ModelBundle
from models.explain import Clock, explain
from serving.core.answers import Prediction
from serving.core.building import Built
from serving.core.compared import compared
from serving.core.context import category_typical, creator_typical
from serving.core.growth import growth
from serving.core.reliability import reliabilities
from serving.core.requests import Draft

BEYOND_RANGE = Words(
    "{feature}: {given} is beyond what the model saw in training; answered as at {edge}, the "
    "edge of that range",
    "{feature}：{given} 超出了模型训练时见过的范围，按该范围的边缘（{edge}）计算",
)
# Times are not clamped inputs: an age between or past the trained ones has its own rule.
TIME_FEATURES = frozenset({"age_minutes", "minutes_since_obs"})
NANOSECONDS_PER_DAY = 86400e9
# the raw columns an answer shows: its history, its age, its category and its counts
READ = (
    "posted_at",
    "age_minutes",
    "category",
    "creator_followers",
    "hist_videos",
    "hist_median_likes",
    "hist_p90_likes",
    "hist_hit_rate",
    "hist_last_posted_at",
    "obs_age_minutes",
    "likes",
    "views",
    "comments",
    "completion_rate",
    "retention_3s",
    "lag1_age_minutes",
    "lag1_likes",
    "lag2_age_minutes",
    "lag2_likes",
)


def answers(
    built: Built,
    bundle: ModelBundle,
    version: str,
    reliability: dict[float, dict[str, Any]],
    history_window: int,
    language: Language = "en",
) -> list[Prediction]:
    """The answers to ``built``'s requests, their texts in ``language``.

    Each is put together as plain values, then checked and typed in one call of
    pydantic's core: much faster than building its nested models one by one. An answer the
    counts decided has no model factors to show: its list is empty.
    """
    requests, rows = built.requests, built.rows
    raw, matrix, outside = rows.arrays, rows.matrix, rows.outside
    answered = bundle.answer_matrix(matrix, raw)
    outside[answered.decided] = np.nan  # the counts answered: no model, no edge
    factors: dict[int, list[dict[str, Any]]] = {i: [] for i, r in enumerate(requests) if r.explain}
    asked = np.array([i for i in factors if not answered.decided[i]], dtype=int)
    if len(asked):
        explained = explain(
            bundle,
            matrix[asked],
            answered.probability[asked],
            answered.low[asked],
            answered.high[asked],
            language,
            [clock(requests[i], built.posted[i]) for i in asked.tolist()],
        )
        factors.update(zip(asked.tolist(), explained, strict=True))
    trust = reliabilities(reliability, raw["age_minutes"], answered.decided, language)
    facts = Facts(bundle, version, history_window, language)
    values = {name: raw[name].tolist() for name in READ}
    return [
        Prediction.model_validate(
            facts.answer(
                {name: column[i] for name, column in values.items()},
                built.sources[i],
                [
                    *(warning[language] for warning in built.warnings[i]),
                    *edges(matrix[i], outside[i], bundle.spec, language),
                ],
                Said(
                    float(answered.probability[i]),
                    float(answered.low[i]),
                    float(answered.high[i]),
                    bool(answered.reached[i]),
                    bool(answered.decided[i]),
                ),
                factors.get(i),
                trust[i],
            )
        )
        for i in range(len(requests))
    ]


def edges(
    values: np.ndarray, outside: np.ndarray, spec: FeatureSpec, language: Language
) -> list[str]:
    """A warning in ``language`` for each input answered at the edge of its training range
    (``values`` clamped, ``outside`` as given: NaN where within); only the language asked
    for is written, as the answer shows no other."""
    moved = ~np.isnan(outside)
    if not moved.any():
        return []
    said = []
    for j in np.flatnonzero(moved):
        feature = BY_NAME[spec.features[j]]
        if feature.name in TIME_FEATURES:
            continue  # ages are answered between the trained ones (features.ages)
        said.append(
            BEYOND_RANGE[language].format(
                feature=feature.words[language].format(zone="UTC", threshold=spec.threshold),
                given=feature.show(float(outside[j]), language),
                edge=feature.show(float(values[j]), language),
            )
        )
    return said


@dataclass(frozen=True)
class Said:
    """What the model (or the counts) said of one row, as Python values."""

    probability: float
    low: float  # NaN from a model saved before intervals existed
    high: float
    reached: bool
    decided: bool


class Facts:
    """What every answer of one call shares: the model, its version and the language."""

    def __init__(
        self, bundle: ModelBundle, version: str, history_window: int, language: Language
    ) -> None:
        self.bundle, self.version = bundle, version
        self.history_window, self.language = history_window, language

    def answer(
        self,
        row: dict[str, Any],
        source: str,
        warnings: list[str],
        said: Said,
        factors: list[dict[str, Any]] | None,
        reliability: dict[str, Any],
    ) -> dict[str, Any]:
        """One answer, from its row's values (``READ``, as Python values)."""
        spec, language = self.bundle.spec, self.language
        last = row["hist_last_posted_at"]
        days = None if last == NAT else (row["posted_at"] - last) / NANOSECONDS_PER_DAY

        def person(value: float | None, digits: int) -> float | None:
            return None if value is None or value != value else rounded(value, digits)

        return {
            "probability": rounded(said.probability, 4),
            "interval": interval(said.low, said.high),
            "reached": said.reached,
            "decided": said.decided,
            "warnings": warnings,
            "threshold": spec.threshold,
            "horizon_days": rounded(spec.horizon_minutes / 1440, 3),
            "age_minutes": rounded(row["age_minutes"], 1),
            "model_version": self.version,
            "history": {
                "source": source,
                "hist_videos": float(row["hist_videos"]),
                "hist_median_likes": person(row["hist_median_likes"], 1),
                "hist_p90_likes": person(row["hist_p90_likes"], 1),
                "hist_hit_rate": person(row["hist_hit_rate"], 3),
                "hist_days_since_prev_post": person(days, 1),
            },
            "factors": factors,
            "reliability": reliability,
            "context": self.context(row),
            "growth": growth(_counts(row), language),
            "compared": compared(
                self.bundle.curves,
                row["category"],
                float(row["creator_followers"]),
                _counts(row),
                language,
                _signals(row),
            ),
        }

    def context(self, row: dict[str, Any]) -> dict[str, Any]:
        """The typical shares to read the probability against (``serving.core.context``)."""
        bundle, language = self.bundle, self.language
        threshold, days = bundle.spec.threshold, bundle.spec.horizon_minutes / 1440
        return {
            "category": category_typical(
                row["category"], bundle.meta.category_rates, threshold, days, language
            ),
            "creator": creator_typical(
                float(row["hist_videos"]),
                row["hist_hit_rate"],  # NaN for a creator with no closed video
                self.history_window,
                threshold,
                days,
                language,
            ),
        }


def rounded(value: float, digits: int) -> float:
    return round(float(value), digits)  # a Python float: numpy scalars round far slower


def interval(low: float, high: float) -> dict[str, Any] | None:
    """The answer's interval in the shape of ``Interval``; none from an older model."""
    if low != low:  # NaN; a Python float, no numpy call
        return None
    return {"low": rounded(low, 4), "high": rounded(high, 4), "level": LEVEL, "of_videos": GROUP}


def clock(request: Draft, posted: datetime) -> Clock:
    """The creator's clock of ``request``, at its posting instant ``posted``."""
    return Clock(posted, request.when.zone, request.when.zone_name)


def _signals(row: dict[str, Any]) -> dict[str, float | None]:
    """The signals ``serving.core.compared`` places: the rates given, comments per view."""
    views, comments = row["views"], row["comments"]
    per_view = comments / views if views == views and comments == comments and views > 0 else None
    return {
        "completion_rate": row["completion_rate"],
        "retention_3s": row["retention_3s"],
        "comments_per_view": per_view,
    }


def _counts(row: dict[str, Any]) -> list[tuple[float, float]]:
    """(age, likes) of the counts a row holds: now and the two before; none for a draft.

    As Python floats: arithmetic on numpy scalars would triple the growth's cost."""
    pairs = (
        ("obs_age_minutes", "likes"),
        ("lag1_age_minutes", "lag1_likes"),
        ("lag2_age_minutes", "lag2_likes"),
    )
    return [
        (float(row[a]), float(row[n])) for a, n in pairs if row[a] == row[a] and row[n] == row[n]
    ]
