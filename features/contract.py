"""The data contract: what the two input tables hold, in one place.

Each table is declared once (``VIDEOS``, ``SNAPSHOTS``): its columns with their type and
range, its key, and which columns it cannot do without. The loader applies those rules row
by row and sets aside what breaks them; the typed frames it hands on are checked against
the pandera schema derived from the same declaration. Rules that need both tables (a
snapshot's video, its timing, counts that only grow) are ``snapshot_ages`` and
``snapshot_problems``, which the service applies to a request's counts as well.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import pandera.pandas as pa

from features.limits import BIG_COUNT, LONGEST_VIDEO_S, OLDEST_AGE_MINUTES
from likecast.errors import UserError


class DataError(UserError):
    """A problem with the user's data that stops the command; its text is one line."""


Kind = Literal["str", "timestamp", "float", "int", "bool"]


@dataclass(frozen=True)
class Column:
    """One column of an input table: its type, whether it must be given, and its range."""

    name: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False
    loaded_as: str | None = None  # the loaded frame's dtype, where not the kind's own
    filled: bool = False  # the loader derives it for every kept row when it is not given

    def rule(self, side: Literal["below", "above"]) -> str:
        """The range rule a value broke, in words, for error messages.

        A rate names its whole range; a count only the bound it broke (a negative count
        "must be >= 0", not "between 0 and 1e+12").
        """
        if self.minimum is not None and self.maximum is not None and self.maximum <= 1:
            return f"between {self.minimum:g} and {self.maximum:g}"
        if side == "above":
            return f"<= {self.maximum:g}"
        return f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}"


COUNTER_COLUMNS: tuple[str, ...] = (
    "views",
    "likes",
    "comments",
    "replies",
    "shares",
    "follows",
)
RATE_COLUMNS: tuple[str, ...] = ("completion_rate", "retention_3s")

DTYPES: dict[Kind, str] = {
    "str": "string",
    "timestamp": "datetime64[ns, UTC]",
    "float": "float64",
    "int": "Int64",
    "bool": "boolean",
}


@dataclass(frozen=True)
class Table:
    """One input table's contract: its columns, its key, and what it cannot do without."""

    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    one_of: tuple[str, ...] = ()  # at least one of these columns must be present

    def missing(self, given: pd.Index) -> list[str]:
        """The required columns (or choice of columns) ``given`` lacks, for the error line."""
        missing = [c.name for c in self.columns if c.required and c.name not in given]
        if self.one_of and not any(name in given for name in self.one_of):
            missing.append(" or ".join(self.one_of))
        return missing

    def schema(self) -> pa.DataFrameSchema:
        """The pandera schema of the typed frame the loader hands on for this table."""
        columns = {}
        for col in self.columns:
            checks = []
            if col.minimum is not None:
                low = pa.Check.gt if col.exclusive_minimum else pa.Check.ge
                checks.append(low(col.minimum))
            if col.maximum is not None:
                checks.append(pa.Check.le(col.maximum))
            columns[col.name] = pa.Column(
                col.loaded_as or DTYPES[col.kind],
                checks=checks,
                nullable=not (col.required or col.filled),
                required=col.required or col.filled,
                unique=self.key == (col.name,),
            )
        return pa.DataFrameSchema(columns, strict=False)


VIDEOS = Table(
    "videos",
    (
        Column("video_id", "str", required=True),
        Column("creator_id", "str", required=True),
        Column("posted_at", "timestamp", required=True),
        Column("category", "str", loaded_as="category"),
        Column("duration_s", "float", minimum=0, exclusive_minimum=True, maximum=LONGEST_VIDEO_S),
        Column("caption", "str"),
        Column("hashtags", "str"),
        Column("creator_followers", "int", minimum=0, maximum=BIG_COUNT),
        Column("music_trending", "bool"),
    ),
    key=("video_id",),
)

SNAPSHOTS = Table(
    "snapshots",
    (
        Column("video_id", "str", required=True, loaded_as="category"),
        Column("observed_at", "timestamp", filled=True),
        Column("age_minutes", "float", minimum=0, maximum=OLDEST_AGE_MINUTES, filled=True),
        Column("likes", "int", required=True, minimum=0, maximum=BIG_COUNT),
        *(
            Column(name, "int", minimum=0, maximum=BIG_COUNT)
            for name in COUNTER_COLUMNS
            if name != "likes"
        ),
        *(Column(name, "float", minimum=0, maximum=1) for name in RATE_COLUMNS),
        Column("avg_watch_s", "float", minimum=0),
    ),
    key=("video_id", "age_minutes"),
    one_of=("observed_at", "age_minutes"),  # either dates a snapshot
)

TABLES: dict[str, Table] = {table.name: table for table in (VIDEOS, SNAPSHOTS)}


AGE_TOLERANCE_MINUTES = 1.0  # a snapshot's age_minutes and observed_at may differ by rounding


def snapshot_ages(
    from_times: np.ndarray, given: np.ndarray
) -> tuple[np.ndarray, list[tuple[np.ndarray, str, str]]]:
    """Each snapshot's age, and the timing rules it breaks, as in ``snapshot_problems``.

    ``from_times`` is observed_at - posted_at in minutes (NaN where either is missing),
    ``given`` the age_minutes column (NaN where not given). Either form, or both when they
    agree, dates a snapshot; none, or one before posting, is an error.
    """
    with np.errstate(invalid="ignore"):
        apart = np.abs(from_times - given) > AGE_TOLERANCE_MINUTES
        age = np.where(np.isnan(from_times), given, from_times)
        before = age < 0
        late = age > OLDEST_AGE_MINUTES  # the age column's bound, for an age from observed_at
    problems = [
        (apart, "age_minutes", "disagrees with observed_at - posted_at"),
        (np.isnan(age), "observed_at", "observed_at or age_minutes required"),
        (before, "observed_at", "snapshot before posted_at"),
        (late, "observed_at", f"must be <= {OLDEST_AGE_MINUTES:g} minutes after posted_at"),
    ]
    return age, [(mask, column, rule) for mask, column, rule in problems if mask.any()]


# Counts of one moment that can never exceed another: (smaller, larger).
COUNT_ORDER: tuple[tuple[str, str], ...] = (("likes", "views"), ("comments", "views"))


def snapshot_problems(
    video: np.ndarray, age_minutes: np.ndarray, counts: dict[str, np.ndarray]
) -> list[tuple[np.ndarray, str, str]]:
    """The rules early counts keep, as (rows breaking it, column, rule) for each broken rule.

    One function for every path: the loader applies it to a snapshots table (training,
    ``validate``, batch scoring) and the service to a request's counts now and earlier, so
    a row is refused by all of them or by none. ``video`` numbers the rows' videos; counts
    are float arrays with NaN where not given.
    """
    problems = []
    for small, large in COUNT_ORDER:
        if small in counts and large in counts:
            with np.errstate(invalid="ignore"):
                above = counts[small] > counts[large]
            problems.append((above, small, f"must be <= {large} of the same snapshot"))
    order = np.lexsort((age_minutes, video))
    same_video = np.r_[False, video[order][1:] == video[order][:-1]]
    for name in COUNTER_COLUMNS:
        if name in counts:
            decreased = np.zeros(len(video), dtype=bool)
            decreased[order] = _below_running_max(counts[name][order], same_video)
            problems.append((decreased, name, "decreases over time for one video"))
    return [(mask, column, rule) for mask, column, rule in problems if mask.any()]


def _below_running_max(values: np.ndarray, same_video: np.ndarray) -> np.ndarray:
    """Rows (sorted by video, age) whose value is below an earlier value of the same video.

    Values become ranks so that video * n + rank is a key that cannot overflow, whose
    running maximum restarts with each video (a later video's keys are all larger).
    """
    known = ~np.isnan(values)
    rank = np.unique(np.where(known, values, -1.0), return_inverse=True)[1].astype(np.int64)
    group = np.cumsum(~same_video).astype(np.int64)
    key = group * np.int64(len(values) + 1) + np.where(known, rank, 0)
    running = np.maximum.accumulate(key) if len(key) else key
    return known & (key < running)
