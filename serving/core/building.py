"""A request's raw row: its draft, its creator's history and its counts, and what the answer
had to assume to build it (each in a sentence a creator can read)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from features.catalog import Words
from features.history import COLD_START
from features.rows import (
    DRAFT_COLUMNS,
    OBSERVED_COUNTERS,
    OBSERVED_RATES,
    SeenCounts,
    observe_requests,
    request_row,
)
from features.spec import FeatureSpec
from features.store import CreatorStore, too_early
from likecast.zones import Reading, offset_name
from serving.core.requests import Draft, Early

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

Timing = tuple[datetime, float]  # (posting time in UTC, age in minutes)


@dataclass(frozen=True)
class Built:
    """One request as the model sees it: its raw row, where its history came from, and
    what the answer had to assume."""

    row: dict[str, Any]
    source: str
    warnings: tuple[Words, ...]


def build(
    requests: list[Draft], spec: FeatureSpec, store: CreatorStore
) -> list[Built | ValueError]:
    """Each request's row, or the ``ValueError`` that refuses it (for its own 400)."""
    timings: list[Timing | ValueError] = []
    for request in requests:
        try:
            timings.append(request.timing())
        except ValueError as exc:
            timings.append(exc)
    oldest = store.oldest
    # before the store's oldest state no history is known; a video whose counts already
    # reach the threshold needs none (as batch scoring answers it), the others are refused
    unknown = [False] * len(timings)
    for i, timing in enumerate(timings):
        if oldest is not None and isinstance(timing, tuple) and timing[0] < oldest:
            unknown[i] = True
            if not _reached(requests[i], timing, spec):
                timings[i] = ValueError(too_early("posted_at", timing[0], oldest))
    answerable = [
        (r, t, u)
        for r, t, u in zip(requests, timings, unknown, strict=True)
        if isinstance(t, tuple)
    ]
    looked_up = iter(store.get_many([(r.creator_id, t[0]) for r, t, u in answerable if not u]))
    stored = iter([None if u else next(looked_up) for _, _, u in answerable])
    observed = iter(_observations([(r, t) for r, t, _ in answerable], spec.horizon_minutes))
    return [
        timing
        if isinstance(timing, ValueError)
        else _built(request, *timing, next(stored), next(observed), spec, store, not before)
        for request, timing, before in zip(requests, timings, unknown, strict=True)
    ]


def _reached(request: Draft, timing: Timing, spec: FeatureSpec) -> bool:
    """The request's counts already reach the threshold by the horizon: its answer is
    decided and needs no creator history."""
    return (
        isinstance(request, Early)
        and request.likes >= spec.threshold
        and timing[1] <= spec.horizon_minutes
    )


def _observations(
    answerable: list[tuple[Draft, Timing]], horizon_minutes: float
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
    return observe_requests(seen, ages, horizon_minutes)


def _built(
    request: Draft,
    posted: datetime,
    age: float,
    stored: dict[str, object] | None,
    observed: dict[str, float],
    spec: FeatureSpec,
    store: CreatorStore,
    looked_up: bool = True,
) -> Built:
    """A request's row; ``looked_up`` is false when no history could be known (before
    the store), where a cold start is no statement about the creator."""
    history, source = _history(request, posted, stored)
    draft = {name: getattr(request, name) for name in DRAFT_COLUMNS}
    row = request_row({**draft, "posted_at": posted}, history, age, observed)
    said = _warnings(request, posted, age, source, spec, store, looked_up)
    return Built(row, source, said)


def _history(
    request: Draft, posted_at: datetime, stored: dict[str, object] | None
) -> tuple[dict[str, object], str]:
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
    request: Draft,
    posted: datetime,
    age: float,
    source: str,
    spec: FeatureSpec,
    store: CreatorStore,
    looked_up: bool = True,
) -> tuple[Words, ...]:
    """What the answer assumed, each in a sentence a creator can read, in each language."""
    said = []
    if request.category is not None and request.category not in spec.category_lookup:
        said.append(_said(UNKNOWN_CATEGORY, category=request.category))
    if source == "cold_start" and looked_up:
        said.append(_said(NEW_CREATOR, creator=request.creator_id))
    as_of = store.as_of
    if source.startswith("store") and as_of is not None:
        stale = (posted - as_of.to_pydatetime(warn=False)).total_seconds() / 86400
        if stale > STALE_STORE_DAYS:
            day = as_of.to_pydatetime(warn=False).astimezone(request.clock()[0]).date()  # theirs
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


def _said(words: Words, **values: Any) -> Words:
    """``words`` with ``values`` filled in, in every language."""
    return Words(words.en.format(**values), words.zh.format(**values))
