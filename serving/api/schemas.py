"""What the HTTP API accepts and returns. Every bound here becomes a 4xx naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from features.limits import BIG_COUNT, PLAIN_NUMBER, time_range
from features.limits import OLDEST_AGE_MINUTES as MAX_AGE_MINUTES
from likecast.echo import shown
from likecast.zones import Reading, known_time_zone, offset_name, wall_to_utc

MAX_BATCH_ITEMS = 10_000  # the ceiling of LIKECAST_BATCH_MAX_ITEMS

# Inclusive bounds only: BentoML publishes OpenAPI 3.0, which has no numeric
# exclusiveMinimum, so `gt=0` would make the documented schema invalid.
MIN_AGE_MINUTES = 0.01


def to_utc(stamp: datetime, zone: str | None) -> datetime:
    """A request's time in UTC. A time without an offset is read in the request's
    ``timezone``, or in UTC when it names none, as in files and ``--at`` (the one time rule,
    ``likecast.zones``): a wall-clock time a daylight-saving change repeats or skips is
    resolved, never refused.

    Plain datetimes, not pandas Timestamps: a batch builds a thousand of these, and pandas
    raises on those two cases.
    """
    return wall_to_utc(stamp, ZoneInfo(zone) if zone else UTC)[0]


def blank_is_absent(model: type[BaseModel], data: Any) -> Any:
    """``data`` without its optional fields given as null, ``""`` or blank text: each means
    the field is unknown, as an empty cell does in a file (``features.loading`` reads blank
    text as missing), so all three give the same answer. Required fields are kept, for
    their own error."""
    if not isinstance(data, dict):
        return data
    optional = {name for name, info in model.model_fields.items() if not info.is_required()}
    return {key: value for key, value in data.items() if key not in optional or not blank(value)}


def blank(value: object) -> bool:
    """Null, ``""`` or text of spaces only: a value that says nothing."""
    return value is None or (isinstance(value, str) and not value.strip())


def a_number(value: Any) -> Any:
    """A number field's value as a file's cell would be read (``features.loading``): a JSON
    number, or text that is a plain number (``"1000"``, ``" 1e3 "``); never a boolean
    (pydantic's lax mode reads ``true`` as 1) nor text pandas would not read as a number
    (``"1_000"``, ``"NaN"``, ``"0x10"``, which pydantic's lax mode accepts)."""
    if isinstance(value, bool):
        raise ValueError("expected a number, got a boolean")
    if isinstance(value, str):
        if not PLAIN_NUMBER.fullmatch(value.strip()):
            raise ValueError(f"expected a number, got {shown(value)}")
        return float(value)
    return value


def _within_time_range(value: datetime | None) -> datetime | None:
    """The contract's time range (``features.contract.time_range``), for request times."""
    if value is None:
        return value
    low, high = time_range()
    moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    try:
        inside = low <= moment <= high
    except OverflowError:  # year 1 or 9999 with an offset: no UTC time exists
        inside = False
    if not inside:
        raise ValueError(f"must be between {low:%Y-%m-%d} and {high:%Y-%m-%d}")
    return value


# every model of a request: a NaN or an infinity is no number (JSON has neither, but
# Python's parser reads both), refused as such and not by a bound it fails to compare with
REQUEST = ConfigDict(extra="forbid", allow_inf_nan=False)


class History(BaseModel):
    """Creator history a caller knows better than the store; each value overrides the store."""

    model_config = REQUEST

    hist_videos: float | None = Field(None, ge=0, le=1e7, description="Closed earlier videos.")
    hist_median_likes: float | None = Field(None, ge=0, le=1e12, description="Median likes.")
    hist_p90_likes: float | None = Field(None, ge=0, le=1e12, description="90th pct likes.")
    hist_hit_rate: float | None = Field(
        None, ge=0, le=1, description="Share reaching the model's threshold."
    )
    hist_days_since_prev_post: float | None = Field(
        None, ge=0, le=36500, description="Days since the last post."
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        return blank_is_absent(cls, data)

    _numbers = field_validator(
        "hist_videos",
        "hist_median_likes",
        "hist_p90_likes",
        "hist_hit_rate",
        "hist_days_since_prev_post",
        mode="before",
    )(a_number)


class Draft(BaseModel):
    """A video before posting.

    Every optional field given as null, ``""`` or blank text is unknown, the same as absent.
    """

    model_config = REQUEST

    creator_id: str = Field(min_length=1, max_length=128, description="Creator's id.")
    category: str | None = Field(None, max_length=64, description="Content category.")
    duration_s: float | None = Field(None, ge=0.1, le=36_000, description="Length in seconds.")
    posted_at: datetime | None = Field(
        None,
        description="(Planned) posting time, ISO 8601. Without an offset it is read in "
        "`timezone`, or in UTC when no `timezone` is given (as in files and `--at`). A local "
        "time a daylight-saving change repeats is read as its first occurrence; one it skips "
        "is moved forward by the jump (02:30 -> 03:30); either adds a warning. Default: now.",
    )
    timezone: str | None = Field(
        None,
        max_length=64,
        description="The creator's IANA time zone (America/New_York): times without an "
        "offset are read in it, and every time the answer shows (the posting-time factors, "
        "the what-if's hours) is on its clock. Default: the offset `posted_at` carries, "
        "else UTC.",
    )
    caption: str | None = Field(None, max_length=2200, description="Caption text.")
    hashtags: str | None = Field(None, max_length=1000, description="Space/comma separated.")
    creator_followers: int | None = Field(None, ge=0, le=BIG_COUNT, description="Followers.")
    music_trending: bool | None = Field(None, description="Uses a trending sound.")
    history: History | None = Field(None, description="Creator history overrides.")
    explain: bool = Field(
        False, description="Add the factors that moved the answer most, and advice."
    )

    @model_validator(mode="before")
    @classmethod
    def _blank_is_absent(cls, data: Any) -> Any:
        return blank_is_absent(cls, data)

    _numbers = field_validator("duration_s", "creator_followers", mode="before")(a_number)

    @field_validator("posted_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        return _within_time_range(value)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        return None if value is None else known_time_zone(value)

    def clock(self) -> tuple[tzinfo, str]:
        """The creator's clock and its name, for every time an answer shows: the request's
        ``timezone``; else the offset its ``posted_at`` was written with; else UTC, the
        zone a time without an offset is read in."""
        if self.timezone:
            return ZoneInfo(self.timezone), self.timezone
        if self.posted_at is not None and self.posted_at.tzinfo is not None:
            offset = self.posted_at.utcoffset()
            return self.posted_at.tzinfo, offset_name(offset)
        return UTC, "UTC"

    def readings(self) -> list[tuple[str, datetime, datetime, Reading]]:
        """(field, wall-clock time, instant, reading) of each request time that a
        daylight-saving change repeats or skips in the request's zone, for its warning."""
        if not self.timezone:
            return []
        zone = ZoneInfo(self.timezone)
        out: list[tuple[str, datetime, datetime, Reading]] = []
        for name in ("posted_at", "observed_at"):
            stamp = getattr(self, name, None)
            if stamp is None:
                continue
            instant, reading = wall_to_utc(stamp, zone)
            if reading != "exact":
                out.append((name, stamp, instant.astimezone(zone), reading))
        return out


class EarlierSnapshot(BaseModel):
    model_config = REQUEST

    age_minutes: float = Field(
        ge=MIN_AGE_MINUTES, le=MAX_AGE_MINUTES, description="Age of this count."
    )
    likes: int = Field(ge=0, le=BIG_COUNT, description="Likes at that age.")

    _numbers = field_validator("age_minutes", "likes", mode="before")(a_number)


class Early(Draft):
    """A posted video and what it gathered by an age."""

    age_minutes: float | None = Field(
        None,
        ge=MIN_AGE_MINUTES,
        le=MAX_AGE_MINUTES,
        description="Minutes since posting (or give observed_at).",
    )
    observed_at: datetime | None = Field(
        None,
        description="When the counts were read, ISO 8601; without an offset it is read as "
        "posted_at is (in `timezone`, else UTC).",
    )
    likes: int = Field(ge=0, le=BIG_COUNT, description="Likes so far.")
    views: int | None = Field(None, ge=0, le=BIG_COUNT, description="Views so far.")
    comments: int | None = Field(None, ge=0, le=BIG_COUNT, description="Comments so far.")
    replies: int | None = Field(None, ge=0, le=BIG_COUNT, description="Replies to comments.")
    shares: int | None = Field(None, ge=0, le=BIG_COUNT, description="Shares so far.")
    follows: int | None = Field(None, ge=0, le=BIG_COUNT, description="Follows it brought.")
    completion_rate: float | None = Field(None, ge=0, le=1, description="Completed plays share.")
    retention_3s: float | None = Field(None, ge=0, le=1, description="Plays past 3 seconds.")
    earlier: list[EarlierSnapshot] = Field(
        default_factory=list, max_length=10, description="Earlier like counts, for growth speed."
    )

    _early_numbers = field_validator(
        "age_minutes",
        "likes",
        "views",
        "comments",
        "replies",
        "shares",
        "follows",
        "completion_rate",
        "retention_3s",
        mode="before",
    )(a_number)

    @field_validator("observed_at")
    @classmethod
    def _plausible_observation(cls, value: datetime | None) -> datetime | None:
        return _within_time_range(value)

    @model_validator(mode="after")
    def _consistent(self) -> Early:
        """The rules every path applies to early counts (``features.contract``)."""
        import numpy as np

        from features.contract import snapshot_problems

        if self.age_minutes is None and self.observed_at is None:
            raise ValueError("age_minutes: required unless observed_at is given")
        if self.observed_at is not None and self.posted_at is None:
            raise ValueError("posted_at: required with observed_at")
        age = self.age()
        first_at: dict[float, int] = {}
        for i, snap in enumerate(self.earlier):
            if snap.age_minutes >= age:
                raise ValueError(f"earlier[{i}].age_minutes: must be < the age of the counts")
            if snap.age_minutes in first_at:  # a file's rule too: one count per video and age
                j = first_at[snap.age_minutes]
                raise ValueError(
                    f"earlier[{j}] and earlier[{i}]: two counts at age_minutes "
                    f"{snap.age_minutes:g} (likes {self.earlier[j].likes:,} and "
                    f"{snap.likes:,}); give each age once"
                )
            first_at[snap.age_minutes] = i
        counts = {
            name: np.array(
                [getattr(self, name), *(getattr(e, name, None) for e in self.earlier)],
                dtype="float64",
            )
            for name in ("likes", "views", "comments")
        }
        ages = np.array([age, *(e.age_minutes for e in self.earlier)])
        video = np.zeros(len(ages), dtype=np.int64)
        for mask, column, rule in snapshot_problems(video, ages, counts):
            first = int(np.flatnonzero(mask)[0])
            where = column if first == 0 else f"earlier[{first - 1}].{column}"
            raise ValueError(f"{where}: {rule}")
        return self

    def age(self) -> float:
        """Minutes from posting to the counts, from age_minutes or observed_at - posted_at."""
        import numpy as np

        from features.contract import snapshot_ages

        zone = self.timezone
        from_times = np.nan
        if self.observed_at is not None and self.posted_at is not None:
            seconds = to_utc(self.observed_at, zone) - to_utc(self.posted_at, zone)
            from_times = seconds.total_seconds() / 60.0
        given = np.nan if self.age_minutes is None else self.age_minutes
        ages, problems = snapshot_ages(np.array([from_times]), np.array([given]))
        for _, column, rule in problems:
            raise ValueError(f"{column}: {rule}")
        return float(ages[0])


class Factor(BaseModel):
    """One thing that moved the answer, by how much, and which way to change it."""

    key: str = Field(
        description="Stable id of the factor: the feature's name, the same in every language."
    )
    direction: Literal["up", "down"] = Field(description="Which way it pushes this answer.")
    points: float = Field(
        description="Its effect on the probability, in percentage points (signed): the answer "
        "minus the answer without it."
    )
    text: str = Field(
        description="In the requested language: the factor, its value and which way to "
        "change it or which way it pushes."
    )
    contribution: float = Field(description="Its SHAP push on LightGBM's log-odds.")


class HistoryUsed(BaseModel):
    source: Literal["store", "request", "store+request", "cold_start"]
    hist_videos: float
    hist_median_likes: float | None
    hist_p90_likes: float | None
    hist_hit_rate: float | None
    hist_days_since_prev_post: float | None


class Interval(BaseModel):
    low: float = Field(description="Lower end, as a probability.")
    high: float = Field(description="Upper end, as a probability.")
    level: float = Field(description="Share of groups of similar videos it holds (0.8).")
    of_videos: int = Field(
        description="The interval is for the hit rate among this many videos like this one."
    )


class Reliability(BaseModel):
    """How far to trust an answer: the model's test figures at the request's age
    (``serving.reliability``)."""

    band: Literal[
        "no better than guessing", "rough", "fair", "good", "very reliable", "unknown", "settled"
    ] = Field(
        description="The test ROC AUC at this age in a word; `settled` when the counts "
        "decided the answer, `unknown` when the model has no test figure for this age."
    )
    text: str = Field(description="What that means, in a sentence a creator reads.")
    age_bucket_minutes: float | None = Field(
        description="The training age the answer was judged at: the grid age at or below "
        "the request's age."
    )
    roc_auc: float | None = Field(
        description="Test ROC AUC at that age: how often a video that reached the threshold "
        "ranked above one that did not."
    )
    test_videos: int | None = Field(description="Test videos (open rows) at that age.")


class Typical(BaseModel):
    """How often such videos reached the threshold: a fact of past videos, not a prediction."""

    rate: float | None = Field(
        description="Share of these videos that reached the threshold within the horizon; "
        "null when it is not known."
    )
    videos: int = Field(description="How many videos that share is from.")
    text: str = Field(description="The same in a sentence, in the requested language.")


class Context(BaseModel):
    """What to compare the probability with (``serving.context``)."""

    category: Typical | None = Field(
        description="The category's training videos; null for a missing or unknown category "
        "or a model saved without these figures."
    )
    creator: Typical | None = Field(
        description="The creator's recent closed videos (the history the answer used); null "
        "for a creator with none."
    )


class Growth(BaseModel):
    """The like speed the request's counts show (``serving.growth``); early answers only."""

    likes_per_hour: float = Field(
        description="Over the latest stretch: since the latest earlier count, or since "
        "posting when none was given."
    )
    earlier_likes_per_hour: float | None = Field(
        description="Over the stretch before (from posting when one earlier count was "
        "given); null with the counts now alone."
    )
    trend: Literal["rising", "steady", "falling", "unknown"] = Field(
        description="The latest speed against the one before: within 20% is steady; "
        "unknown without an earlier count."
    )
    text: str = Field(description="The same in a sentence, in the requested language.")


class Prediction(BaseModel):
    probability: float = Field(description="P(likes >= threshold within the horizon).")
    interval: Interval | None = Field(
        default=None,
        description="Where the hit rate of videos like this one likely lies; none from a "
        "model trained before intervals existed.",
    )
    reached: bool = Field(description="The counts given already reach the threshold.")
    decided: bool = Field(
        description="The counts settle the outcome (reached, or at or past the horizon): "
        "the probability is 1 or 0 from the counts, not from the model."
    )
    warnings: list[str] = Field(
        default_factory=list, description="What the answer had to assume, in plain words."
    )
    threshold: int
    horizon_days: float
    age_minutes: float
    model_version: str
    history: HistoryUsed
    factors: list[Factor] | None = Field(
        default=None,
        description="With `explain`: at most five factors, biggest effect first; empty when "
        "no factor moved the answer by half a point or more, when the counts decided it, or "
        "when the blend at this age does not use LightGBM.",
    )
    reliability: Reliability
    context: Context | None = Field(
        default=None, description="Typical shares for the category and the creator."
    )
    growth: Growth | None = Field(
        default=None, description="The like speed the counts show; null for a draft."
    )


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Items are checked one by one only after the count: a ceiling in the schema refuses a
    # huge list before any per-item work (BentoML validates the body before the method runs,
    # which then applies LIKECAST_BATCH_MAX_ITEMS), and Any keeps junk items out of the
    # schema's own error list.
    items: list[Any] = Field(
        min_length=1,
        max_length=MAX_BATCH_ITEMS,
        description="Drafts and early requests; an item with likes (not null or empty) is early.",
    )


class BatchItemResult(BaseModel):
    index: int
    prediction: Prediction | None = None
    error: list[dict] | None = None


class BatchResponse(BaseModel):
    results: list[BatchItemResult]


class HourOption(BaseModel):
    posted_at: datetime = Field(
        description="The instant, with the creator's offset at that instant (the offset "
        "changes across a daylight-saving change)."
    )
    local_hour: int = Field(
        description="The hour the creator's clock reads then (`timezone`, else the offset "
        "posted_at carries, else UTC): each hour of the day once, at the next time the "
        "clock reads it (a skipped hour, the next day's)."
    )
    probability: float


class DurationOption(BaseModel):
    duration_s: float
    probability: float


class WhatIf(BaseModel):
    current: float = Field(description="Probability of the draft as given.")
    current_interval: Interval | None = Field(
        default=None, description="The interval of the current probability."
    )
    hours: list[HourOption]
    durations: list[DurationOption]
    best_hour: HourOption | None = Field(
        description="The hour to recommend, only when its gain beats the uncertainty."
    )
    best_duration: DurationOption | None = Field(
        description="The duration to recommend, only when its gain beats the uncertainty."
    )
    advice: list[str] = Field(
        description="In plain words, first on the posting time, then on the length: what "
        "to change, or that it makes no measurable difference."
    )
    warnings: list[str] = Field(
        default_factory=list, description="What the answer had to assume, in plain words."
    )
    model_version: str


def unknown_fields(model: type[BaseModel], data: object, limit: int) -> tuple[list[list], int]:
    """Where ``data`` has keys ``model`` (and the models of its fields) does not declare:
    the first ``limit`` of them, in the order given, and how many there are in all.

    Set operations on the keys: pydantic, finding them itself, builds and formats an error
    for each, which for 150,000 unknown keys took seconds and made a 19 MB answer.
    """
    found: list[list] = []
    return found, _unknown(model, data, [], found, limit)


def _unknown(model: type[BaseModel], data: object, loc: list, found: list, limit: int) -> int:
    if not isinstance(data, dict) or model.model_config.get("extra") != "forbid":
        return 0
    fields = model.model_fields
    extra = data.keys() - fields.keys()
    for key in data:
        if len(found) >= limit:
            break
        if key in extra:
            found.append([*loc, key])
    count = len(extra)
    for key in data.keys() & fields.keys():
        inner = _model_in(fields[key].annotation)
        if inner is None:
            continue
        value = data[key]
        items = enumerate(value) if isinstance(value, list) else [(None, value)]
        for i, item in items:
            where = [*loc, key] if i is None else [*loc, key, i]
            count += _unknown(inner, item, where, found, limit)
    return count


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The model a field holds (``History | None``, ``list[EarlierSnapshot]``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        inner = _model_in(arg)
        if inner is not None:
            return inner
    return None
