"""The like curves a bundle carries (curves.json): where a video's likes stand among videos
like it, at its age.

Built at training from the train slice's videos at the training ages
(``training.curves``): per group of videos like each other (category x creator size, then
the category, then all videos), quantiles of the likes each had by each age, over all of
them and over those that reached the threshold and those that did not. Only quantiles are
kept, never rows, so a bundle stays small and holds no one video's counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from pydantic import BaseModel, ConfigDict, Field

FORMAT_VERSION = 1
# 41 levels: a percentile read off them is within 2.5 points of the rows' own share
LEVELS = tuple(i / 40 for i in range(41))
# the band drawn for reached and missed videos: their middle half and median
BAND_LEVELS = (0.25, 0.5, 0.75)
# creator sizes, by followers: each band a factor of ten, as creators speak of them
FOLLOWER_EDGES = (1_000, 10_000, 100_000)
ALL = "*"  # the group of every training video
# the signals placed among the group as well: the two audience rates and comments per view
SIGNALS = ("completion_rate", "retention_3s", "comments_per_view")


class Group(BaseModel):
    """One group's quantiles of likes per training age (None where too few videos were
    observed at that age)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    videos: int = Field(ge=0, description="Training videos in the group.")
    reached: int = Field(ge=0, description="Of them, those that reached the threshold.")
    likes: list[list[float] | None] = Field(description="Per age: ``LEVELS`` quantiles.")
    reached_band: list[list[float] | None] = Field(description="Per age: ``BAND_LEVELS``.")
    missed_band: list[list[float] | None] = Field(description="Per age: ``BAND_LEVELS``.")
    signals: dict[str, list[list[float] | None]] = Field(
        description="Per signal (``SIGNALS``), per age: ``LEVELS`` quantiles."
    )


class HourShares(BaseModel):
    """One group's share of likes in each hour of the day (0-23 on ``Timing.zone``'s clock)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    videos: int = Field(ge=0, description="Videos whose snapshots were close enough to time.")
    gaps: int = Field(ge=0, description="(gap between two snapshots, hour) pairs read.")
    share: list[float] = Field(min_length=24, max_length=24)
    low: list[float] = Field(min_length=24, max_length=24, description="80% interval.")
    high: list[float] = Field(min_length=24, max_length=24)


class Timing(BaseModel):
    """When likes arrive (``training.timing``); no group when the crawl was too rare."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    zone: str = Field(description="The clock the hours are on: the model's.")
    max_gap_minutes: float = Field(description="Snapshots further apart were not read.")
    groups: dict[str, HourShares] = Field(description="Category (and ``ALL``) -> shares.")


class Curves(BaseModel):
    """Every group's curves, keyed ``category|band``, ``category`` and ``ALL``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format_version: int = FORMAT_VERSION
    threshold: int
    ages: list[float] = Field(description="The training ages, ascending, in minutes.")
    levels: list[float] = list(LEVELS)
    band_levels: list[float] = list(BAND_LEVELS)
    follower_edges: list[int] = list(FOLLOWER_EDGES)
    min_videos: int = Field(description="A group with fewer videos is not kept.")
    groups: dict[str, Group]
    timing: Timing | None = None

    def to_json(self) -> str:
        return self.model_dump_json()

    @classmethod
    def from_json(cls, text: str) -> Curves:
        return cls.model_validate_json(text)


def size_band(followers: float, edges: list[int] | tuple[int, ...] = FOLLOWER_EDGES) -> int | None:
    """The creator-size band of a follower count (0 = the smallest); None when unknown."""
    if followers != followers:  # NaN: not known
        return None
    return bisect_right(edges, followers)


def group_keys(category: str | None, band: int | None) -> list[str]:
    """The groups a video belongs to, finest first: its category and size, its category,
    all videos."""
    keys = []
    if category is not None:
        if band is not None:
            keys.append(f"{category}|{band}")
        keys.append(category)
    return [*keys, ALL]


def share_below(quantiles: list[float], levels: list[float], likes: float) -> float:
    """The share of a group with fewer likes than ``likes``, read off its quantiles.

    Between two quantiles it is interpolated; on a run of equal quantiles (many videos with
    the same count, as 0 early on) the lowest level is taken, so a count equal to most
    videos' is ahead of none of them. More likes never give a lower share.
    """
    if likes <= quantiles[0]:
        return 0.0
    if likes > quantiles[-1]:
        return 1.0
    i = bisect_left(quantiles, likes)  # the first quantile at or above likes
    below, above = quantiles[i - 1], quantiles[i]
    weight = (likes - below) / (above - below) if above > below else 1.0
    return levels[i - 1] + weight * (levels[i] - levels[i - 1])
