"""What the HTTP API accepts and returns. Every bound here becomes a 4xx naming the field."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

BIG_COUNT = 10**12
MAX_AGE_MINUTES = 365 * 24 * 60.0
# Inclusive bounds only: BentoML publishes OpenAPI 3.0, which has no numeric
# exclusiveMinimum, so `gt=0` would make the documented schema invalid.
MIN_AGE_MINUTES = 0.01


class History(BaseModel):
    """Creator history a caller knows better than the store; each value overrides the store."""

    model_config = ConfigDict(extra="forbid")

    hist_videos: float | None = Field(None, ge=0, le=1e7, description="Closed earlier videos.")
    hist_median_likes: float | None = Field(None, ge=0, le=1e12, description="Median likes.")
    hist_p90_likes: float | None = Field(None, ge=0, le=1e12, description="90th pct likes.")
    hist_hit_rate: float | None = Field(None, ge=0, le=1, description="Share reaching 1000.")
    hist_days_since_prev_post: float | None = Field(
        None, ge=0, le=36500, description="Days since the last post."
    )


class Draft(BaseModel):
    """A video before posting."""

    model_config = ConfigDict(extra="forbid")

    creator_id: str = Field(min_length=1, max_length=128, description="Creator's id.")
    category: str | None = Field(None, max_length=64, description="Content category.")
    duration_s: float | None = Field(None, ge=0.1, le=36_000, description="Length in seconds.")
    posted_at: datetime | None = Field(
        None,
        description="(Planned) posting time, ISO 8601; without an offset it is read in "
        "`timezone`. Default: now.",
    )
    timezone: str | None = Field(
        None, max_length=64, description="IANA zone for a posted_at without offset."
    )
    caption: str | None = Field(None, max_length=2200, description="Caption text.")
    hashtags: str | None = Field(None, max_length=1000, description="Space/comma separated.")
    creator_followers: int | None = Field(None, ge=0, le=BIG_COUNT, description="Followers.")
    music_trending: bool | None = Field(None, description="Uses a trending sound.")
    history: History | None = Field(None, description="Creator history overrides.")
    explain: bool = Field(False, description="Add the top factors up and down.")

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str | None) -> str | None:
        if value is None:
            return value
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value


class EarlierSnapshot(BaseModel):
    model_config = ConfigDict(extra="forbid")

    age_minutes: float = Field(
        ge=MIN_AGE_MINUTES, le=MAX_AGE_MINUTES, description="Age of this count."
    )
    likes: int = Field(ge=0, le=BIG_COUNT, description="Likes at that age.")


class Early(Draft):
    """A posted video and what it gathered by an age."""

    age_minutes: float | None = Field(
        None,
        ge=MIN_AGE_MINUTES,
        le=MAX_AGE_MINUTES,
        description="Minutes since posting (or give observed_at).",
    )
    observed_at: datetime | None = Field(None, description="When the counts were read.")
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

    @model_validator(mode="after")
    def _consistent(self) -> Early:
        if (self.age_minutes is None) == (self.observed_at is None):
            raise ValueError("give exactly one of age_minutes and observed_at")
        if self.views is not None and self.likes > self.views:
            raise ValueError("likes must be <= views")
        if self.comments is not None and self.views is not None and self.comments > self.views:
            raise ValueError("comments must be <= views")
        for snap in self.earlier:
            if snap.likes > self.likes:
                raise ValueError("earlier.likes must be <= likes (counts never decrease)")
            if self.age_minutes is not None and snap.age_minutes >= self.age_minutes:
                raise ValueError("earlier.age_minutes must be < age_minutes")
        return self


class Factor(BaseModel):
    feature: str
    text: str = Field(description="The factor in plain words, with the value used.")
    contribution: float = Field(description="Push on the log-odds.")


class Factors(BaseModel):
    up: list[Factor]
    down: list[Factor]


class HistoryUsed(BaseModel):
    source: Literal["store", "request", "store+request", "cold_start"]
    hist_videos: float
    hist_median_likes: float | None
    hist_p90_likes: float | None
    hist_hit_rate: float | None
    hist_days_since_prev_post: float | None


class Prediction(BaseModel):
    probability: float = Field(description="P(likes >= threshold within the horizon).")
    threshold: int
    horizon_days: float
    age_minutes: float
    model_version: str
    history: HistoryUsed
    factors: Factors | None = None


class BatchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[dict] = Field(
        min_length=1, description="Drafts and early requests; an item with likes is early."
    )


class BatchItemResult(BaseModel):
    index: int
    prediction: Prediction | None = None
    error: list[dict] | None = None


class BatchResponse(BaseModel):
    results: list[BatchItemResult]


class HourOption(BaseModel):
    posted_at: datetime
    local_hour: int
    probability: float


class DurationOption(BaseModel):
    duration_s: float
    probability: float


class WhatIf(BaseModel):
    current: float = Field(description="Probability of the draft as given.")
    hours: list[HourOption]
    durations: list[DurationOption]
    best_hour: HourOption
    best_duration: DurationOption
    model_version: str
