"""Requests as the model sees them: their rows (``features.inputs``), where each one's
history came from, what each answer had to assume (in sentences a creator can read), and
why a request that cannot be answered is refused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from features.catalog import Words
from features.inputs import Asked, Rows, request_rows
from features.rows import DRAFT_COLUMNS, OBSERVED_COUNTERS, OBSERVED_RATES, SeenCounts
from features.spec import FeatureSpec
from features.store import StoreReader
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
NO_STORE = Words(
    "likecast has no creator store: creator {creator!r}'s history is unknown; scored as a new "
    "creator",
    "likecast 没有创作者记录库：创作者“{creator}”的往期记录未知，按新创作者预测",
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
COUNTS = (*OBSERVED_COUNTERS, *OBSERVED_RATES)
DRAFT_INPUTS = tuple(name for name in DRAFT_COLUMNS if name != "posted_at")


@dataclass(frozen=True)
class Built:
    """Requests as the model sees them.

    ``requests`` are those it can answer, in order, with their ``rows``, posting times,
    history sources and warnings; ``refused`` holds, for every request given, the
    ``ValueError`` that refuses it (for its own 400), or None.
    """

    requests: list[Draft]
    rows: Rows
    posted: list[datetime]
    sources: list[str]
    warnings: list[tuple[Words, ...]]
    refused: list[ValueError | None]


def build(requests: list[Draft], spec: FeatureSpec, store: StoreReader) -> Built:
    """The requests' rows, or for each request that cannot be answered, why."""
    refused: list[ValueError | None] = [None] * len(requests)
    kept = list(range(len(requests)))
    asked = [_asked(r, r.when.posted, r.when.age) for r in requests]  # clocked when validated
    rows = request_rows(asked, store, spec)
    answerable = rows.why == ""
    for i, why in zip(kept, rows.why.tolist(), strict=True):
        if why:
            refused[i] = ValueError(why)
    if not answerable.all():
        rows = rows.only(answerable)
        asked = [a for a, ok in zip(asked, answerable.tolist(), strict=True) if ok]
        kept = [i for i, ok in zip(kept, answerable.tolist(), strict=True) if ok]
    sources = [
        _source(bool(stored), bool(a.history))
        for a, stored in zip(asked, rows.stored.tolist(), strict=True)
    ]
    warnings = [
        _warnings(requests[i], a.posted_at, a.age_minutes, source, spec, store, looked_up)
        for i, a, source, looked_up in zip(
            kept, asked, sources, rows.looked_up.tolist(), strict=True
        )
    ]
    return Built(
        [requests[i] for i in kept], rows, [a.posted_at for a in asked], sources, warnings, refused
    )


def _asked(request: Draft, posted: datetime, age: float) -> Asked:
    """A request as the features read it: its draft, its history overrides, its counts."""
    given = request.history.model_dump(exclude_none=True) if request.history else {}
    if "hist_days_since_prev_post" in given:
        days = given.pop("hist_days_since_prev_post")
        given["hist_last_posted_at"] = posted - timedelta(days=days)
    counts = (
        SeenCounts(
            {name: getattr(request, name) for name in COUNTS},
            [(e.age_minutes, {"likes": e.likes}) for e in request.earlier],
        )
        if isinstance(request, Early)
        else None
    )
    draft = {name: getattr(request, name) for name in DRAFT_INPUTS}
    return Asked(draft, posted, age, given, counts)


def _source(stored: bool, given: bool) -> str:
    """Where a request's history came from: the store, the request, both, or neither."""
    if stored:
        return "store+request" if given else "store"
    return "request" if given else "cold_start"


def _warnings(
    request: Draft,
    posted: datetime,
    age: float,
    source: str,
    spec: FeatureSpec,
    store: StoreReader,
    looked_up: bool = True,
) -> tuple[Words, ...]:
    """What the answer assumed, each in a sentence a creator can read, in each language."""
    said = []
    if request.category is not None and request.category not in spec.category_lookup:
        said.append(_said(UNKNOWN_CATEGORY, category=request.category))
    if source == "cold_start" and looked_up:
        # without a store nothing is known of the creator: not that they never posted
        said.append(_said(NEW_CREATOR if store.loaded else NO_STORE, creator=request.creator_id))
    as_of = store.as_of
    if source.startswith("store") and as_of is not None:
        stale = (posted - as_of.to_pydatetime(warn=False)).total_seconds() / 86400
        if stale > STALE_STORE_DAYS:
            day = as_of.to_pydatetime(warn=False).astimezone(request.when.zone).date()  # theirs
            said.append(_said(STALE_HISTORY, date=day.isoformat(), days=stale))
    for name, wall, local, reading in request.when.readings:
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
