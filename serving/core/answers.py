"""What the core answers: a prediction, a batch's results and the what-if, typed.

Pydantic models, so the HTTP layer publishes them as its schema and the answers are checked
types wherever they are read; nothing here knows HTTP.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, Field


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
    (``serving.core.reliability``)."""

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
    """What to compare the probability with (``serving.core.context``)."""

    category: Typical | None = Field(
        description="The category's training videos; null for a missing or unknown category "
        "or a model saved without these figures."
    )
    creator: Typical | None = Field(
        description="The creator's recent closed videos (the history the answer used); null "
        "for a creator with none."
    )


class Growth(BaseModel):
    """The like speed the request's counts show (``serving.core.growth``); early answers only."""

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


class ComparedGroup(BaseModel):
    """The training videos a video is compared with (``serving.core.compared``)."""

    level: Literal["category_and_size", "category", "all"] = Field(
        description="The finest group with enough videos: the video's category and creator "
        "size, else its category, else all videos."
    )
    category: str | None = Field(description="The category; null for all videos.")
    size: str | None = Field(description="The creator-size band in words, when the group has one.")
    name: str = Field(description="The group in words, in the requested language.")
    videos: int = Field(description="Training videos in the group.")


class Band(BaseModel):
    low: float = Field(description="A quarter of the videos had fewer likes.")
    median: float = Field(description="Half had fewer likes.")
    high: float = Field(description="Three quarters had fewer likes.")


class CurveAge(BaseModel):
    age_minutes: float
    reached: Band | None = Field(
        description="Likes by this age of the group's videos that reached the threshold; "
        "null when too few were seen."
    )
    missed: Band | None = Field(description="The same for those that did not.")


class VideoPoint(BaseModel):
    age_minutes: float
    likes: float


class SignalPlaced(BaseModel):
    """One of the video's signals placed among the same group at its age."""

    key: Literal["completion_rate", "retention_3s", "comments_per_view"]
    value: float = Field(description="As given (comments per view: comments / views).")
    percentile: float = Field(
        description="Share of the group's training videos with a lower value at this age."
    )
    text: str = Field(description="The same in a sentence, in the requested language.")


class Compared(BaseModel):
    """The video's likes against videos like it at its age; early answers only."""

    group: ComparedGroup
    age_minutes: float = Field(description="The age of the latest count given.")
    likes: float = Field(description="The likes given at that age.")
    percentile: float = Field(
        description="Share of the group's training videos with fewer likes by this age (0-1)."
    )
    reached_quartile: float | None = Field(
        description="Three in four of the group's videos that reached the threshold had at "
        "least this many likes by this age; null when too few were seen."
    )
    curve: list[CurveAge] = Field(description="The band at each training age, to draw.")
    points: list[VideoPoint] = Field(description="The counts given, the video's own points.")
    text: str = Field(description="The same in a sentence, in the requested language.")
    signals: list[SignalPlaced] = Field(
        default_factory=list,
        description="Completion, 3-second retention and comments per view, where given, "
        "among the same group at this age.",
    )


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
    compared: Compared | None = Field(
        default=None,
        description="The likes against videos like it; null for a draft or a model saved "
        "without like curves.",
    )


class BatchItemResult(BaseModel):
    index: int
    prediction: Prediction | None = None
    error: list[dict[str, Any]] | None = None


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


class AudienceHour(BaseModel):
    local_hour: int = Field(description="The hour on the creator's clock, as in `hours`.")
    share: float = Field(description="Share of a day's likes arriving in that hour.")
    low: float = Field(description="80% interval of the share (videos resampled).")
    high: float


class Audience(BaseModel):
    """When likes arrive, from the training data's snapshots (``serving.core.audience``):
    a fact of the platform, not advice."""

    known: bool = Field(
        description="False when the training data were crawled too rarely to time likes."
    )
    group: str | None = Field(description="The category measured, or `*` for all videos.")
    hours: list[AudienceHour] = Field(description="Each hour of the day; empty when unknown.")
    peak_start_hour: int | None = Field(
        description="The first of the two hours in a row with the most likes."
    )
    text: str = Field(description="The peak, or that it cannot be told, in a sentence.")


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
    audience: Audience | None = Field(
        default=None,
        description="When likes arrive, on the creator's clock; null from a model saved "
        "without it. Kept apart from the advice, which only the chance's changes drive.",
    )
