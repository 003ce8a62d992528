"""The data contract: what the two input tables hold, in one place.

Real platform exports and the simulator both go through these definitions, so a rule stated
here (a column, its type, its range) is enforced the same way for every source.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pandera.pandas as pa

Kind = Literal["str", "timestamp", "float", "int", "bool"]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: bool = False

    def rule(self) -> str:
        """The range rule in words, for error messages."""
        if self.minimum is not None and self.maximum is not None:
            return f"between {self.minimum:g} and {self.maximum:g}"
        if self.minimum is not None:
            return f"{'>' if self.exclusive_minimum else '>='} {self.minimum:g}"
        return ""


VIDEO_COLUMNS: tuple[Column, ...] = (
    Column("video_id", "str", required=True),
    Column("creator_id", "str", required=True),
    Column("posted_at", "timestamp", required=True),
    Column("category", "str"),
    Column("duration_s", "float", minimum=0, exclusive_minimum=True),
    Column("caption", "str"),
    Column("hashtags", "str"),
    Column("creator_followers", "int", minimum=0),
    Column("music_trending", "bool"),
)

COUNTER_COLUMNS: tuple[str, ...] = (
    "views",
    "likes",
    "comments",
    "replies",
    "shares",
    "follows",
)
RATE_COLUMNS: tuple[str, ...] = ("completion_rate", "retention_3s")

SNAPSHOT_COLUMNS: tuple[Column, ...] = (
    Column("video_id", "str", required=True),
    Column("observed_at", "timestamp"),
    Column("age_minutes", "float", minimum=0),
    Column("likes", "int", required=True, minimum=0),
    *(Column(name, "int", minimum=0) for name in COUNTER_COLUMNS if name != "likes"),
    *(Column(name, "float", minimum=0, maximum=1) for name in RATE_COLUMNS),
    Column("avg_watch_s", "float", minimum=0),
)

TABLES: dict[str, tuple[Column, ...]] = {
    "videos": VIDEO_COLUMNS,
    "snapshots": SNAPSHOT_COLUMNS,
}
KEYS: dict[str, tuple[str, ...]] = {
    "videos": ("video_id",),
    "snapshots": ("video_id", "age_minutes"),
}


def _schema(columns: tuple[Column, ...], extra: dict[str, pa.Column]) -> pa.DataFrameSchema:
    dtypes = {
        "str": "string",
        "timestamp": "datetime64[ns, UTC]",
        "float": "float64",
        "int": "Int64",
        "bool": "boolean",
    }
    checks: dict[str, pa.Column] = {}
    for col in columns:
        column_checks = []
        if col.minimum is not None:
            column_checks.append(
                pa.Check.gt(col.minimum) if col.exclusive_minimum else pa.Check.ge(col.minimum)
            )
        if col.maximum is not None:
            column_checks.append(pa.Check.le(col.maximum))
        checks[col.name] = pa.Column(
            dtypes[col.kind], checks=column_checks, nullable=not col.required, required=False
        )
    checks.update(extra)
    return pa.DataFrameSchema(checks, strict=False)


# The typed frames the loader hands to the rest of likecast. Validating them after cleaning is
# cheap and catches a loader bug before it becomes a silent feature bug.
VIDEOS_SCHEMA = _schema(
    VIDEO_COLUMNS,
    {
        "video_id": pa.Column("string", unique=True),
        "category": pa.Column("category", nullable=True, required=False),
    },
)
SNAPSHOTS_SCHEMA = _schema(
    SNAPSHOT_COLUMNS,
    {
        "video_id": pa.Column("category"),
        "observed_at": pa.Column("datetime64[ns, UTC]"),
        "age_minutes": pa.Column("float64", pa.Check.ge(0)),
    },
)
