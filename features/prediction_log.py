"""The prediction log's contract: one JSON line per answer, in files under ``home/predictions``.

The service and ``likecast score`` write it (``serving``); ``likecast monitor`` reads it
(``training``). Both sides meet here, at the data's end of the flow. A file is only ever
appended to, one whole line per answer; a worker killed mid-write leaves at most one broken
last line, which reading skips and counts.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

Route = Literal["draft", "early", "batch", "whatif", "score"]
FOLDER = "predictions"
SUFFIX = ".jsonl"
# a column of the read frame holding a model input is this prefix and the feature's name
FEATURE_PREFIX = "f:"


class LoggedAnswer(BaseModel):
    """One answer as it was given: when, to what, by which model, from which inputs."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    logged_at: AwareDatetime = Field(description="When the answer was given.")
    request_id: str = Field(description="The caller's X-Request-ID, or one made for it.")
    route: Route = Field(description="Which path answered.")
    model_version: str
    threshold: int = Field(gt=0, description="The model's target: likes ...")
    horizon_days: float = Field(gt=0, description="... within these days of posting.")
    video_id: str | None = Field(default=None, description="The video, where the caller named it.")
    item: int | None = Field(
        default=None,
        ge=0,
        description="The answer's place among a batch request's items, or its row in a scored "
        "file; null for a single request.",
    )
    creator_id: str | None = None
    category: str | None = None
    posted_at: AwareDatetime | None = None
    age_minutes: float = Field(ge=0, description="The video's age at the answer (0: a draft).")
    features: dict[str, float | None] = Field(
        description="The model's inputs as the model saw them (after clamping); null: unknown."
    )
    probability: float = Field(ge=0, le=1)
    low: float = Field(ge=0, le=1)
    high: float = Field(ge=0, le=1)
    reached: bool
    decided: bool
    warnings: list[str] = Field(default_factory=list)

    def line(self) -> str:
        """The record as one line of the log, newline included."""
        return self.model_dump_json() + "\n"


class LogRead(BaseModel):
    """What reading a log found: the answers, and the lines it could not read."""

    model_config = ConfigDict(arbitrary_types_allowed=True, frozen=True)

    answers: pd.DataFrame
    broken_lines: int
    files: int


def log_folder(home: Path) -> Path:
    return home / FOLDER


def log_files(folder: Path) -> list[Path]:
    """The log's files, oldest first (their names begin with the time they were opened)."""
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.suffix == SUFFIX and not p.name.startswith("."))


def read_log(folder: Path, since: datetime | None = None, until: datetime | None = None) -> LogRead:
    """The answers logged in ``folder`` with ``since <= logged_at < until``, one row each.

    Scalars are columns as in ``LoggedAnswer``; each model input is a column
    ``FEATURE_PREFIX + name`` (NaN where unknown); ``warnings`` is a list per row.
    """
    records: list[dict[str, object]] = []
    broken = 0
    files = log_files(folder)
    for path in files:
        for answer in _answers(path.read_text(encoding="utf-8", errors="replace").splitlines()):
            if answer is None:
                broken += 1
            elif (since is None or answer.logged_at >= since) and (
                until is None or answer.logged_at < until
            ):
                records.append(_flat(answer))
    return LogRead(answers=_frame(records), broken_lines=broken, files=len(files))


def _answers(lines: Iterable[str]) -> Iterable[LoggedAnswer | None]:
    for text in lines:
        if not text.strip():
            continue
        try:
            yield LoggedAnswer.model_validate(json.loads(text))
        except (ValueError, ValidationError):
            yield None


def _flat(answer: LoggedAnswer) -> dict[str, object]:
    record = answer.model_dump(exclude={"features"})
    record.update({FEATURE_PREFIX + name: value for name, value in answer.features.items()})
    return record


COLUMNS = [name for name in LoggedAnswer.model_fields if name != "features"]


def _frame(records: list[dict[str, object]]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records(records)
    if frame.empty:
        return pd.DataFrame(columns=COLUMNS)
    for column in ("logged_at", "posted_at"):
        frame[column] = pd.to_datetime(frame[column], utc=True)
    inputs = [c for c in frame.columns if c.startswith(FEATURE_PREFIX)]
    frame[inputs] = frame[inputs].astype("float64")
    return frame.sort_values("logged_at", kind="stable").reset_index(drop=True)
