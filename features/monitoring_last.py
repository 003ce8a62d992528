"""The last monitor figures: what ``likecast monitor drift`` and ``estimate`` leave in
``home/monitoring/last.json`` for ``/metrics`` to show as gauges.

One small JSON object, ``{"drift": CheckFigures | null, "estimate": CheckFigures | null}``;
each command replaces its own key atomically and keeps the other's. It lives at the data's
end of the flow because both sides meet here: ``training.monitor`` writes it, the service
(``serving``) reads it.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from likecast.atomic import write_text

FOLDER = "monitoring"
FILE = "last.json"
Check = Literal["drift", "estimate"]


class CheckFigures(BaseModel):
    """One monitor run's outcome: when, of which model, over which answers, and its figures."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    checked_at: AwareDatetime = Field(description="When the check ran.")
    model_version: str = Field(description="The model version whose answers were checked.")
    window_start: AwareDatetime | None = Field(
        default=None, description="The first logged answer's time the check read."
    )
    window_end: AwareDatetime | None = Field(
        default=None, description="The last logged answer's time the check read."
    )
    answers: int = Field(ge=0, description="How many logged answers the check read.")
    alert: bool = Field(description="Whether the check raised an alert (its exit code 1).")
    figures: dict[str, float | None] = Field(
        default_factory=dict,
        description="Named figures, one gauge each: e.g. drift {'max_distance': 0.08, "
        "'features_moved': 2}, estimate {'roc_auc': 0.81, 'roc_auc_low': 0.79}; a figure of "
        "one age bucket is named with its age, e.g. 'roc_auc@60'. null: not computable.",
    )


class LastFigures(BaseModel):
    """The newest figures of each check; null until that check has run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    drift: CheckFigures | None = None
    estimate: CheckFigures | None = None


def last_path(home: Path) -> Path:
    return home / FOLDER / FILE


def read_last(home: Path) -> LastFigures:
    """The figures written so far; none when the file is missing or unreadable (a scrape
    must not fail because a monitor run wrote something odd)."""
    path = last_path(home)
    try:
        return LastFigures.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError):
        return LastFigures()


def write_last(home: Path, check: Check, figures: CheckFigures) -> Path:
    """Replace ``check``'s figures, keeping the other check's, in one atomic write (a reader
    never sees half), under a lock (two checks finishing at once keep both keys)."""
    path = last_path(home)
    path.parent.mkdir(parents=True, exist_ok=True)
    with (path.parent / f".{FILE}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        updated = read_last(home).model_copy(update={check: figures})
        write_text(updated.model_dump_json(indent=2) + "\n", path)
    return path
