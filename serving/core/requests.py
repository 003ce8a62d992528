"""What a request holds: a draft or a posted video's counts, checked, with its clock.

The bounds here are the service's rules for every caller (HTTP, tests, the parity check);
the HTTP layer turns a broken one into a 4xx naming the field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, get_args
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from features.limits import BIG_COUNT, PLAIN_NUMBER, time_range
from features.limits import OLDEST_AGE_MINUTES as MAX_AGE_MINUTES
from likecast.echo import shown
from likecast.zones import Reading, known_time_zone, offset_name, wall_to_utc

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

Readings = tuple[tuple[str, datetime, datetime, Reading], ...]


@dataclass(frozen=True)
class When:
    """A request's clock, worked out once where the request is validated and carried with
    it (the service's ``model_construct`` keeps it), so answering reads it, never redoes it.

    Attributes:
        posted: the posting instant, in UTC (a draft without ``posted_at``: posted now).
        age: minutes from posting to the counts; 0 for a draft.
        zone: the creator's clock for every time an answer shows, and ``zone_name`` its
            name: the request's ``timezone``; else the offset ``posted_at`` was written
            with; else UTC, the zone a time without an offset is read in.
        readings: (field, wall-clock time, instant, reading) of each request time that a
            daylight-saving change repeats or skips in the request's zone, for its warning.
    """

    posted: datetime
    age: float
    zone: tzinfo
    zone_name: str
    readings: Readings


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
    video_id: str | None = Field(
        None,
        max_length=128,
        description="The video's id, when it has one: recorded with the answer in the "
        "prediction log, so its outcome can be joined later. It does not change the answer.",
    )
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

    # Set by validation (``_clocked``), never by a caller: ``unknown_fields`` refuses it in
    # a body, and neither the schema nor a dump shows it.
    when: SkipJsonSchema[Any] = Field(None, exclude=True, repr=False)

    @model_validator(mode="after")
    def _clocked(self) -> Draft:
        self.when = self._when(0.0)
        return self

    def _when(self, age: float) -> When:
        """The request's clock (``When``) for counts read at ``age`` minutes."""
        if self.posted_at is None:
            posted = datetime.now(UTC) - timedelta(minutes=age)
        else:
            posted = to_utc(self.posted_at, self.timezone)
        zone, name = self._zone()
        return When(posted, age, zone, name, self._readings())

    def _zone(self) -> tuple[tzinfo, str]:
        if self.timezone:
            return ZoneInfo(self.timezone), self.timezone
        if self.posted_at is not None and self.posted_at.tzinfo is not None:
            offset = self.posted_at.utcoffset()
            return self.posted_at.tzinfo, offset_name(offset)
        return UTC, "UTC"

    def _readings(self) -> Readings:
        if not self.timezone:
            return ()
        zone = ZoneInfo(self.timezone)
        out: list[tuple[str, datetime, datetime, Reading]] = []
        for name in ("posted_at", "observed_at"):
            stamp = getattr(self, name, None)
            if stamp is None:
                continue
            instant, reading = wall_to_utc(stamp, zone)
            if reading != "exact":
                out.append((name, stamp, instant.astimezone(zone), reading))
        return tuple(out)


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
    def _clocked(self) -> Early:  # in place of the draft's: the clock needs the age
        """The rules every path applies to early counts (``features.contract``), then the
        request's clock (``When``) at the counts' age."""
        import numpy as np

        from features.contract import snapshot_problems

        if self.age_minutes is None and self.observed_at is None:
            raise ValueError("age_minutes: required unless observed_at is given")
        if self.observed_at is not None and self.posted_at is None:
            raise ValueError("posted_at: required with observed_at")
        age = self.age()
        self.age_minutes = age
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
        self.when = self._when(age)
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


def unknown_fields(model: type[BaseModel], data: object, limit: int) -> tuple[list[list[Any]], int]:
    """Where ``data`` has keys ``model`` (and the models of its fields) does not declare:
    the first ``limit`` of them, in the order given, and how many there are in all.

    Set operations on the keys: pydantic, finding them itself, builds and formats an error
    for each, which for 150,000 unknown keys took seconds and made a 19 MB answer.
    """
    found: list[list[Any]] = []
    return found, _unknown(model, data, [], found, limit)


def _unknown(
    model: type[BaseModel], data: object, loc: list[Any], found: list[list[Any]], limit: int
) -> int:
    if not isinstance(data, dict) or model.model_config.get("extra") != "forbid":
        return 0
    # a field a dump leaves out (``Draft.when``) is set by validation, never by a caller
    fields = {name: f for name, f in model.model_fields.items() if not f.exclude}
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
