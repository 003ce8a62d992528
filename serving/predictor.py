"""Requests -> raw rows -> the shared feature step -> native LightGBM -> answers.

Kept free of HTTP so the same object answers the service, tests and the parity check.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, TypeVar

import numpy as np
from pydantic import ValidationError

from features.arrays import RowArrays
from features.catalog import BY_NAME, LANGUAGES, Language, Words, category_name
from features.history import COLD_START
from features.matrix import beyond, clamp, feature_matrix
from features.rows import (
    DRAFT_COLUMNS,
    OBSERVED_COUNTERS,
    OBSERVED_RATES,
    SeenCounts,
    observe_requests,
    request_arrays,
    request_row,
)
from features.store import CreatorStore, too_early
from likecast.echo import MAX_PROBLEMS, capped
from likecast.settings import Settings
from likecast.zones import Reading, offset_name, wall_to_utc
from models.blend import GROUP, LEVEL
from models.bundle import Answers
from models.explain import Clock, as_good_as_best, explain
from models.registry import LoadedModel
from serving.api.errors import more_problems, problem
from serving.api.schemas import (
    BatchResponse,
    Draft,
    DurationOption,
    Early,
    HourOption,
    Prediction,
    WhatIf,
    blank,
    to_utc,
    unknown_fields,
)
from serving.context import category_typical, creator_typical
from serving.growth import growth
from serving.reliability import bucket_reliability, reliabilities

log = logging.getLogger("likecast.serving")
Option = TypeVar("Option", HourOption, DurationOption)
WHATIF_DURATIONS = (10.0, 15.0, 30.0, 45.0, 60.0, 90.0, 120.0, 180.0)


STALE_STORE_DAYS = 2.0  # a store refreshed nightly is a day old; older history earns a warning

UNKNOWN_CATEGORY = Words(
    "category {category!r} is unknown; scored as unknown",
    "类别“{category}”未知，按未知类别预测",
)
NEW_CREATOR = Words(
    "creator {creator!r} has no earlier videos in likecast's records; scored as a new creator",
    "likecast 的记录里没有创作者“{creator}”的往期视频，按新创作者预测",
)
STALE_HISTORY = Words(
    "the creator's history is known up to {date}, {days:.0f} days before this video's posting time",
    "创作者的往期记录只到 {date}，比这个视频的发布时间早 {days:.0f} 天",
)
AFTER_HORIZON = Words(
    "the counts were read {minutes:.0f} minutes after the {horizon:g}-day horizon; the likes "
    "at the horizon are read from them as training's labels are (below the threshold: "
    "missed; above it: interpolated in time from the count before, or from posting)",
    "这些数据是在 {horizon:g} 天期限过后 {minutes:.0f} 分钟读取的；期限时的点赞数按训练标签的"
    "规则推算（低于目标：未达到；高于目标：按时间从之前的数据或发布时插值）",
)
BEYOND_RANGE = Words(
    "{feature}: {given} is beyond what the model saw in training; answered as at {edge}, the "
    "edge of that range",
    "{feature}：{given} 超出了模型训练时见过的范围，按该范围的边缘（{edge}）计算",
)
# Times are not clamped inputs: an age between or past the trained ones has its own rule.
TIME_FEATURES = frozenset({"age_minutes", "minutes_since_obs"})
# a local time a daylight-saving change repeats or skips: how it was read (likecast.zones)
READINGS: dict[Reading, Words] = {
    "repeated": Words(
        "{field} {wall} happens twice in {zone} (the clocks go back); read as the first, "
        "{local} {offset}",
        "{field} {wall} 在 {zone} 出现两次（时钟回拨）；按第一次计算，即 {local} {offset}",
    ),
    "skipped": Words(
        "{field} {wall} does not exist in {zone} (the clocks skip it); read as {local} "
        "{offset}, moved forward by the jump",
        "{field} {wall} 在 {zone} 不存在（时钟跳过）；按顺延后的 {local} {offset} 计算",
    ),
}
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


@dataclass(frozen=True)
class Built:
    """One request as the model sees it: its raw row, where its history came from, and
    what the answer had to assume."""

    row: dict
    source: str
    warnings: tuple[Words, ...]


def _rounded(value: float, digits: int) -> float:
    return round(float(value), digits)  # a Python float: numpy scalars round far slower


@dataclass
class Predictor:
    """One loaded model plus the creator store: everything a request needs."""

    loaded: LoadedModel
    store: CreatorStore
    settings: Settings
    loaded_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    # each age bucket's reliability in each language, worded once per model rather than
    # once per answer
    reliability: dict[Language, dict[float, dict[str, Any]]] = field(init=False)

    def __post_init__(self) -> None:
        bundle = self.loaded.bundle
        by_age, spec = bundle.meta.by_age, bundle.spec
        self.reliability = {
            language: bucket_reliability(by_age, spec.ages, spec.threshold, language)
            for language in LANGUAGES
        }

    @property
    def version(self) -> str:
        return self.loaded.version or "local"

    @property
    def not_ready(self) -> str | None:
        """Why this model cannot answer as it was trained to, in one line; None when it can.

        Without a store file every creator would be a cold start; a store built for another
        target would hand the model hit rates of another question (PewDiePie served 0 past
        videos at 50,000 likes from a store built for 1,000).
        """
        problem = self.store.target_problem(self.loaded.bundle.spec.target)  # refreshes it
        if not self.store.loaded:
            return (
                f"no creator store at {self.store.path}: materialize it (likecast features "
                f"materialize --data DIR {self.loaded.bundle.spec.target.options()})"
            )
        return problem

    # -- rows ---------------------------------------------------------------------------

    def timing(self, request: Draft) -> tuple[datetime, float]:
        """(posting time in UTC, age in minutes) of a request; a draft is age 0.

        Every age is answerable: between the trained ages from both neighbours
        (``features.ages``), past the horizon from the counts.
        """
        zone = request.timezone  # none: UTC, the one time rule (likecast.zones)
        if not isinstance(request, Early):
            posted = to_utc(request.posted_at, zone) if request.posted_at else datetime.now(UTC)
            return posted, 0.0
        age = request.age()
        if request.posted_at is not None:
            posted = to_utc(request.posted_at, zone)
        else:
            posted = datetime.now(UTC) - timedelta(minutes=age)
        return posted, age

    def build(self, requests: list[Draft]) -> list[Built | ValueError]:
        """Each request's row, or the ``ValueError`` that refuses it (for its own 400)."""
        timings: list[tuple[datetime, float] | ValueError] = []
        for request in requests:
            try:
                timings.append(self.timing(request))
            except ValueError as exc:
                timings.append(exc)
        oldest = self.store.oldest
        # before the store's oldest state no history is known; a video whose counts already
        # reach the threshold needs none (as batch scoring answers it), the others are refused
        unknown = [False] * len(timings)
        for i, timing in enumerate(timings):
            if oldest is not None and isinstance(timing, tuple) and timing[0] < oldest:
                unknown[i] = True
                if not self._reached(requests[i], timing):
                    timings[i] = ValueError(too_early("posted_at", timing[0], oldest))
        answerable = [
            (r, t, u)
            for r, t, u in zip(requests, timings, unknown, strict=True)
            if isinstance(t, tuple)
        ]
        looked_up = iter(
            self.store.get_many([(r.creator_id, t[0]) for r, t, u in answerable if not u])
        )
        stored = iter([None if u else next(looked_up) for _, _, u in answerable])
        observed = iter(self._observations([(r, t) for r, t, _ in answerable]))
        return [
            timing
            if isinstance(timing, ValueError)
            else self._built(request, *timing, next(stored), next(observed), not before)
            for request, timing, before in zip(requests, timings, unknown, strict=True)
        ]

    def _reached(self, request: Draft, timing: tuple[datetime, float]) -> bool:
        """The request's counts already reach the threshold by the horizon: its answer is
        decided and needs no creator history."""
        spec = self.loaded.bundle.spec
        return (
            isinstance(request, Early)
            and request.likes >= spec.threshold
            and timing[1] <= spec.horizon_minutes
        )

    def _observations(
        self, answerable: list[tuple[Draft, tuple[datetime, float]]]
    ) -> list[dict[str, float]]:
        """What each request's counts say at its age, looked up as training's and batch's are.

        The counts now and ``earlier`` are the request's snapshots; a draft has none.
        """
        names = (*OBSERVED_COUNTERS, *OBSERVED_RATES)
        seen = [
            SeenCounts(
                {name: getattr(request, name) for name in names},
                [(e.age_minutes, {"likes": e.likes}) for e in request.earlier],
            )
            if isinstance(request, Early)
            else None
            for request, _ in answerable
        ]
        ages = [age for _, (_, age) in answerable]
        return observe_requests(seen, ages, self.loaded.bundle.spec.horizon_minutes)

    def _built(
        self,
        request: Draft,
        posted: datetime,
        age: float,
        stored: dict[str, object] | None,
        observed: dict[str, float],
        looked_up: bool = True,
    ) -> Built:
        """A request's row; ``looked_up`` is false when no history could be known (before
        the store), where a cold start is no statement about the creator."""
        history, source = self._history(request, posted, stored)
        draft = {name: getattr(request, name) for name in DRAFT_COLUMNS}
        row = request_row({**draft, "posted_at": posted}, history, age, observed)
        return Built(row, source, self._warnings(request, posted, age, source, looked_up))

    def _history(
        self, request: Draft, posted_at: datetime, stored: dict[str, object] | None
    ) -> tuple[dict, str]:
        values: dict[str, object] = dict(stored) if stored else dict(COLD_START)
        given = request.history.model_dump(exclude_none=True) if request.history else {}
        had_request = bool(given)
        if "hist_days_since_prev_post" in given:
            days = given.pop("hist_days_since_prev_post")
            values["hist_last_posted_at"] = posted_at - timedelta(days=days)
        values.update(given)
        source = (
            "store+request"
            if stored and had_request
            else "request"
            if had_request
            else "store"
            if stored
            else "cold_start"
        )
        return values, source

    def _warnings(
        self, request: Draft, posted: datetime, age: float, source: str, looked_up: bool = True
    ) -> tuple[Words, ...]:
        """What the answer assumed, each in a sentence a creator can read, in each language."""
        spec = self.loaded.bundle.spec
        said = []
        if request.category is not None and request.category not in spec.category_lookup:
            said.append(_said(UNKNOWN_CATEGORY, category=request.category))
        if source == "cold_start" and looked_up:
            said.append(_said(NEW_CREATOR, creator=request.creator_id))
        as_of = self.store.as_of
        if source.startswith("store") and as_of is not None:
            stale = (posted - as_of.to_pydatetime(warn=False)).total_seconds() / 86400
            if stale > STALE_STORE_DAYS:
                day = (
                    as_of.to_pydatetime(warn=False).astimezone(request.clock()[0]).date()
                )  # their date
                said.append(_said(STALE_HISTORY, date=day.isoformat(), days=stale))
        for name, wall, local, reading in request.readings():
            said.append(
                _said(
                    READINGS[reading],
                    field=name,
                    wall=wall.isoformat(timespec="minutes"),
                    zone=request.timezone,
                    local=local.strftime("%H:%M"),
                    offset=offset_name(local.utcoffset()),
                )
            )
        if isinstance(request, Early) and age > spec.horizon_minutes:
            said.append(
                _said(
                    AFTER_HORIZON,
                    minutes=age - spec.horizon_minutes,
                    horizon=spec.horizon_minutes / 1440,
                )
            )
        return tuple(said)

    def features(self, rows: list[dict]) -> tuple[RowArrays, np.ndarray, np.ndarray]:
        """Request rows -> raw arrays, the model's feature matrix (by the batch rows' code),
        and the values that lay beyond the training ranges before they were clamped (NaN
        where none did)."""
        spec = self.loaded.bundle.spec
        arrays = request_arrays(rows)
        matrix = feature_matrix(arrays, spec, clamped=False)
        outside = np.where(beyond(matrix, spec), matrix, np.nan)
        clamp(matrix, spec)
        return arrays, matrix, outside

    # -- answers ------------------------------------------------------------------------

    def predict(self, requests: list[Draft], language: Language = "en") -> list[Prediction]:
        """Answers in order, their texts in ``language``; a request the model cannot answer
        raises its ``ValueError``."""
        built = self.build(requests)
        for item in built:
            if isinstance(item, ValueError):
                raise item
        answers = self.answers(requests, built, language)  # type: ignore[arg-type]
        return [Prediction.model_validate(a) for a in answers]

    def predict_batch(self, items: list[Any], language: Language = "en") -> BatchResponse:
        """Answers to drafts and early requests (an item with likes is early), in order;
        an item that is invalid or cannot be answered gets its own error instead.

        Raises:
            ValueError: the whole batch is refused: more items than ``batch_max_items``, or
                more than ``batch_max_explain`` of them set explain.
        """
        limit = self.settings.batch_max_items
        if len(items) > limit:
            raise ValueError(f"items: at most {limit} per request, got {len(items)}")
        results: list[dict] = []  # BatchItemResult fields, validated together at the end
        parsed: list[tuple[int, Draft]] = []
        for i, item in enumerate(items):
            request = _batch_item(i, item)
            if isinstance(request, Draft):
                parsed.append((i, request))
            else:
                results.append({"index": i, "error": request})
        explaining = sum(request.explain for _, request in parsed)
        if explaining > self.settings.batch_max_explain:
            # explanations are slow enough that a batch of them would outlive the request
            # timeout (batch scoring's --explain has no such limit)
            raise ValueError(
                f"items: at most {self.settings.batch_max_explain} may set explain, "
                f"got {explaining}"
            )
        built = self.build([request for _, request in parsed])
        valid = []
        for (i, request), item in zip(parsed, built, strict=True):
            if isinstance(item, ValueError):
                results.append({"index": i, "error": _errors(item)})
            else:
                valid.append((i, request, item))
        if valid:
            answers = self.answers([r for _, r, _ in valid], [b for _, _, b in valid], language)
            results += [
                {"index": i, "prediction": a} for (i, _, _), a in zip(valid, answers, strict=True)
            ]
        results.sort(key=lambda r: r["index"])
        return BatchResponse.model_validate({"results": results})

    def answers(
        self, requests: list[Draft], built: list[Built], language: Language = "en"
    ) -> list[dict]:
        """Answers as plain dicts in the shape of ``Prediction``, their texts in ``language``.

        A batch validates all of them in one call (``BatchResponse``), much faster than
        building three models per item. An answer the counts decided has no model factors
        to show: its list is empty.
        """
        bundle = self.loaded.bundle
        raw, matrix, outside = self.features([b.row for b in built])
        answers = bundle.answer_matrix(matrix, raw)
        outside[answers.decided] = np.nan  # the counts answered: no model, no edge
        factors: dict[int, list[dict]] = {i: [] for i, r in enumerate(requests) if r.explain}
        asked = np.array([i for i in factors if not answers.decided[i]], dtype=int)
        if len(asked):
            explained = explain(
                bundle,
                matrix[asked],
                answers.probability[asked],
                answers.low[asked],
                answers.high[asked],
                language,
                [_clock(requests[i], built[i].row["posted_at"]) for i in asked.tolist()],
            )
            factors.update(zip(asked.tolist(), explained, strict=True))
        ages = np.array([b.row["age_minutes"] for b in built], dtype=float)
        trust = reliabilities(self.reliability[language], ages, answers.decided, language)
        edges = [self._edges(matrix[i], outside[i]) for i in range(len(built))]
        return [
            self._answer(b, answers, i, factors.get(i), trust[i], language, edges[i])
            for i, b in enumerate(built)
        ]

    def _edges(self, values: np.ndarray, outside: np.ndarray) -> list[Words]:
        """A warning for each input answered at the edge of its training range (``values``
        clamped, ``outside`` as given: NaN where within)."""
        moved = ~np.isnan(outside)
        if not moved.any():
            return []
        spec = self.loaded.bundle.spec
        said = []
        for j in np.flatnonzero(moved):
            feature = BY_NAME[spec.features[j]]
            if feature.name in TIME_FEATURES:
                continue  # ages are answered between the trained ones (features.ages)
            said.append(
                Words(
                    *(
                        BEYOND_RANGE[language].format(
                            feature=feature.words[language].format(
                                zone="UTC", threshold=spec.threshold
                            ),
                            given=feature.show(float(outside[j]), language),
                            edge=feature.show(float(values[j]), language),
                        )
                        for language in LANGUAGES
                    )
                )
            )
        return said

    def _answer(
        self,
        built: Built,
        answers: Answers,
        i: int,
        factors: list[dict] | None,
        reliability: dict,
        language: Language,
        edges: list[Words],
    ) -> dict:
        spec = self.loaded.bundle.spec
        row = built.row
        last = row["hist_last_posted_at"]
        days = None if last is None else (row["posted_at"] - last).total_seconds() / 86400

        def person(value: Any, digits: int) -> float | None:
            return None if value is None or value != value else _rounded(float(value), digits)

        return {
            "probability": _rounded(answers.probability[i], 4),
            "interval": _interval(answers.low[i], answers.high[i]),
            "reached": bool(answers.reached[i]),
            "decided": bool(answers.decided[i]),
            "warnings": [warning[language] for warning in (*built.warnings, *edges)],
            "threshold": spec.threshold,
            "horizon_days": _rounded(spec.horizon_minutes / 1440, 3),
            "age_minutes": _rounded(row["age_minutes"], 1),
            "model_version": self.version,
            "history": {
                "source": built.source,
                "hist_videos": float(row["hist_videos"]),
                "hist_median_likes": person(row["hist_median_likes"], 1),
                "hist_p90_likes": person(row["hist_p90_likes"], 1),
                "hist_hit_rate": person(row["hist_hit_rate"], 3),
                "hist_days_since_prev_post": person(days, 1),
            },
            "factors": factors,
            "reliability": reliability,
            "context": self._context(row, language),
            "growth": growth(_counts(row), language),
        }

    def _context(self, row: dict, language: Language) -> dict:
        """The typical shares to read the probability against (``serving.context``)."""
        bundle = self.loaded.bundle
        threshold, days = bundle.spec.threshold, bundle.spec.horizon_minutes / 1440
        hit_rate = row["hist_hit_rate"]
        return {
            "category": category_typical(
                row["category"], bundle.meta.category_rates, threshold, days, language
            ),
            "creator": creator_typical(
                float(row["hist_videos"]),
                None if hit_rate is None else float(hit_rate),
                self.settings.history_window,
                threshold,
                days,
                language,
            ),
        }

    def whatif(self, draft: Draft, language: Language = "en") -> WhatIf:
        """The same draft at each hour of the next day and at a few durations; the advice in
        ``language``."""
        built = self.build([draft])[0]
        if isinstance(built, ValueError):
            raise built
        base = built.row
        zone, _ = draft.clock()
        hours = hour_options(base["posted_at"], zone)
        rows = [{**base, "posted_at": instant} for instant, _ in hours]
        rows += [{**base, "duration_s": d} for d in WHATIF_DURATIONS]
        rows.append(base)
        bundle = self.loaded.bundle
        matrix = self.features(rows)[1]  # clamped: the what-if's own answers never warn
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
        given = base["duration_s"]
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
                "current_interval": _interval(low[0], high[0]),
                "hours": offered,
                "durations": duration_options,
                "best_hour": best_hour,
                "best_duration": best_duration,
                "advice": _advice(best_hour, best_duration, float(p[-1]), language),
                "warnings": [warning[language] for warning in built.warnings],
                "model_version": self.version,
            }
        )

    def describe(self, language: Language = "en") -> dict:
        """What ``GET /model`` shows: the version, where it came from, its metrics, and the
        category names in ``language``."""
        bundle = self.loaded.bundle
        return {
            "model_version": self.version,
            "model_uri": self.loaded.uri,
            "run_id": self.loaded.run_id,
            "loaded_at": self.loaded_at,
            "threshold": bundle.spec.threshold,
            "horizon_days": bundle.spec.horizon_minutes / 1440,
            "features": list(bundle.spec.features),
            "categories": list(bundle.spec.categories),
            "category_names": {c: category_name(c, language) for c in bundle.spec.categories},
            "metrics": bundle.meta.metrics,
            # absent (null) in bundles saved before training recorded them
            "metrics_by_age": bundle.meta.by_age,
            # each category's share of training videos that reached the threshold; null
            # in bundles saved before training recorded it
            "category_rates": bundle.meta.category_rates,
            "trained_at": bundle.meta.trained_at,
            "store_creators": self.store.creators(),
        }


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


def _clock(request: Draft, posted: datetime) -> Clock:
    """The creator's clock of ``request``, at its posting instant ``posted``."""
    zone, name = request.clock()
    return Clock(posted, zone, name)


def _counts(row: dict) -> list[tuple[float, float]]:
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


def _interval(low: float, high: float) -> dict | None:
    """The answer's interval in the shape of ``Interval``; none from an older model."""
    if np.isnan(low):
        return None
    return {"low": _rounded(low, 4), "high": _rounded(high, 4), "level": LEVEL, "of_videos": GROUP}


def recommend(
    options: list[Option],
    choice: dict | None,
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


def _said(words: Words, **values: Any) -> Words:
    """``words`` with ``values`` filled in, in every language."""
    return Words(words.en.format(**values), words.zh.format(**values))


def _batch_item(index: int, item: Any) -> Draft | list[dict]:
    """A batch item as a Draft or an Early request, or its errors."""
    if not isinstance(item, dict):
        return [{"loc": ["items", index], "msg": "expected an object", "type": "dict_type"}]
    if "likes" in item and blank(item["likes"]):
        # likes given as null or "" are no counts, as likes left out: a draft
        item = {key: value for key, value in item.items() if key != "likes"}
    model = Early if "likes" in item else Draft
    # unknown keys found before pydantic would make (and the answer carry) an error each
    kept, count = unknown_fields(model, item, MAX_PROBLEMS)
    if count:
        found = [problem(loc, "Extra inputs are not permitted", "extra_forbidden") for loc in kept]
        return found + more_problems(count - len(kept))
    try:
        return model.model_validate(item)
    except ValidationError as exc:
        return _errors(exc)


def _errors(exc: ValidationError | ValueError) -> list[dict]:
    """An item's errors, each with the field (``loc``), the rule (``msg``) and its type."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        kept, more = capped(errors)
        return [problem(list(e["loc"]), e["msg"], e["type"]) for e in kept] + more_problems(more)
    return [problem([], str(exc))]
