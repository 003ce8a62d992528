"""The prediction log's contract: JSON lines of answers, in files under ``home/predictions``.

The service and ``likecast score`` write it (``serving``); ``likecast monitor`` reads it
(``training``). Both sides meet here, at the data's end of the flow. A line is a
``LoggedEntry`` (format 2): the answers of one request (or one slice of a scored file) as
columns, the feature names once, so a batch of a thousand answers is formatted in one go.
Lines of format 1 (a ``LoggedAnswer`` each, no ``v`` field) are still read. A file is only
ever appended to, whole lines; a worker killed mid-write leaves at most one broken last line,
which reading skips and counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Literal, Self

import numpy as np
import pandas as pd
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator
from pydantic_core import from_json

Route = Literal["draft", "early", "batch", "whatif", "score"]
FOLDER = "predictions"
SUFFIX = ".jsonl"
# a column of the read frame holding a model input is this prefix and the feature's name
FEATURE_PREFIX = "f:"
FORMAT = 2  # the ``v`` of a line written today; a line without one is format 1
Share = Annotated[float, Field(ge=0, le=1)]


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
        """The record as one line of the log in format 1, newline included."""
        return self.model_dump_json() + "\n"


class LoggedEntry(BaseModel):
    """Answers of one model written together (format 2): ``LoggedAnswer``'s fields, one
    list per field that varies by answer, the model's once. ``features`` holds the model's
    input rows, ``names`` their columns; ``posted_ns`` the posting instants as UTC
    nanoseconds."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    v: Literal[2]
    model_version: str
    threshold: int = Field(gt=0)
    horizon_days: float = Field(gt=0)
    names: list[str]
    logged_at: list[AwareDatetime]
    request_id: list[str]
    route: list[Route]
    item: list[int | None] = Field(description="Each answer's place; null: a single request.")
    video_id: list[str | None]
    creator_id: list[str | None]
    category: list[str | None]
    posted_ns: list[int | None]
    age_minutes: list[Annotated[float, Field(ge=0)]]
    features: list[list[float | None]]
    probability: list[Share]
    low: list[Share]
    high: list[Share]
    reached: list[bool]
    decided: list[bool]
    warnings: list[list[str]]

    @model_validator(mode="after")
    def _one_length(self) -> Self:
        lengths = {
            len(self.logged_at), len(self.request_id), len(self.route), len(self.item),
            len(self.video_id), len(self.creator_id), len(self.category), len(self.posted_ns),
            len(self.age_minutes), len(self.features), len(self.probability), len(self.low),
            len(self.high), len(self.reached), len(self.decided), len(self.warnings),
        }  # fmt: skip
        if len(lengths) > 1:
            raise ValueError("columns of different lengths")
        if not set(map(len, self.features)) <= {len(self.names)}:
            raise ValueError("a features row does not match the names")
        return self


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
    ``FEATURE_PREFIX + name`` (NaN where unknown); ``warnings`` is a list per row. Lines of
    both formats read into the same frame.
    """
    columns = _Columns()
    broken = 0
    files = log_files(folder)
    for path in files:
        for text in path.read_bytes().splitlines():
            if not text.strip():
                continue
            entry = _entry(text)
            if entry is None:
                broken += 1
            elif (since is None or max(entry.logged_at) >= since) and (
                until is None or min(entry.logged_at) < until
            ):  # an entry with an answer in the window; the frame keeps only those
                columns.add(entry)
        columns.settle()  # a file's input rows become arrays before the next is read
    answers = columns.frame()
    if len(answers) and (since is not None or until is not None):
        logged = answers["logged_at"]
        inside = np.ones(len(answers), dtype=bool)
        if since is not None:
            inside &= (logged >= since).to_numpy()
        if until is not None:
            inside &= (logged < until).to_numpy()
        answers = answers[inside].reset_index(drop=True)
    return LogRead(answers=answers, broken_lines=broken, files=len(files))


def _entry(text: bytes) -> LoggedEntry | None:
    """A line as an entry of answers (a format-1 line as an entry of one); None if broken."""
    try:
        if b'"v":' in text[:8]:  # written as ``{"v":2,...``: format 2
            return LoggedEntry.model_validate_json(text)
        answer = LoggedAnswer.model_validate(from_json(text))
    except (ValueError, ValidationError):
        return None
    return _one(answer)


def _one(answer: LoggedAnswer) -> LoggedEntry:
    posted = answer.posted_at
    return LoggedEntry.model_construct(
        logged_at=[answer.logged_at],
        request_id=[answer.request_id],
        model_version=answer.model_version,
        threshold=answer.threshold,
        horizon_days=answer.horizon_days,
        names=list(answer.features),
        route=[answer.route],
        item=[answer.item],
        video_id=[answer.video_id],
        creator_id=[answer.creator_id],
        category=[answer.category],
        posted_ns=[None if posted is None else _ns(posted)],
        age_minutes=[answer.age_minutes],
        features=[list(answer.features.values())],
        probability=[answer.probability],
        low=[answer.low],
        high=[answer.high],
        reached=[answer.reached],
        decided=[answer.decided],
        warnings=[answer.warnings],
    )


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _ns(instant: datetime) -> int:
    """An instant as UTC nanoseconds, exactly (a float of seconds would round it)."""
    delta = instant - _EPOCH
    return ((delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds) * 1000


COLUMNS = [name for name in LoggedAnswer.model_fields if name != "features"]
NAT = np.iinfo(np.int64).min  # features.arrays.NAT: an unknown instant as int64


@dataclass
class _Columns:
    """Entries gathered into columns, one value per answer, for one frame at the end.

    The input rows of consecutive entries with the same names become one array when the
    names change or a file ends, so a million answers never sit as Python floats at once.
    """

    scalars: dict[str, list[object]] = field(default_factory=lambda: {name: [] for name in COLUMNS})
    blocks: list[tuple[list[str], int, np.ndarray]] = field(default_factory=list)
    rows: list[list[float | None]] = field(default_factory=list)
    names: list[str] | None = None
    count: int = 0  # answers gathered
    start: int = 0  # the first answer of the rows not yet settled

    def add(self, entry: LoggedEntry) -> None:
        n, columns = len(entry.route), self.scalars
        if entry.names != self.names:
            self.settle()
            self.names = entry.names
        self.rows += entry.features
        columns["logged_at"] += [_ns(instant) // 1000 for instant in entry.logged_at]
        columns["request_id"] += entry.request_id
        columns["model_version"] += [entry.model_version] * n
        columns["threshold"] += [entry.threshold] * n
        columns["horizon_days"] += [entry.horizon_days] * n
        columns["route"] += entry.route
        columns["video_id"] += entry.video_id
        columns["creator_id"] += entry.creator_id
        columns["category"] += entry.category
        columns["age_minutes"] += entry.age_minutes
        columns["probability"] += entry.probability
        columns["low"] += entry.low
        columns["high"] += entry.high
        columns["reached"] += entry.reached
        columns["decided"] += entry.decided
        columns["item"] += entry.item
        columns["posted_at"] += entry.posted_ns
        columns["warnings"] += entry.warnings
        self.count += n

    def settle(self) -> None:
        """The gathered input rows as one array."""
        if self.rows:
            assert self.names is not None
            matrix = np.array(self.rows, dtype="float64").reshape(len(self.rows), len(self.names))
            self.blocks.append((self.names, self.start, matrix))
        self.rows, self.start = [], self.count

    def frame(self) -> pd.DataFrame:
        self.settle()
        if not self.count:
            return pd.DataFrame(columns=COLUMNS)
        data: dict[str, object] = dict(self.scalars)
        data["logged_at"] = _instants(np.array(self.scalars["logged_at"], dtype="int64"))
        posted = self.scalars["posted_at"]
        ns = np.array([NAT if value is None else value for value in posted], dtype="int64")
        data["posted_at"] = _instants(np.where(ns == NAT, NAT, ns // 1000))
        inputs: dict[str, np.ndarray] = {}
        for names, start, matrix in self.blocks:
            for j, name in enumerate(names):
                column = inputs.setdefault(FEATURE_PREFIX + name, np.full(self.count, np.nan))
                column[start : start + len(matrix)] = matrix[:, j]
        self.blocks.clear()
        frame = pd.concat([pd.DataFrame(data), pd.DataFrame(inputs)], axis=1)
        return frame.sort_values("logged_at", kind="stable").reset_index(drop=True)


def _instants(us: np.ndarray) -> pd.Series:
    """UTC microseconds (NAT unknown) as instants."""
    return pd.Series(us.view("datetime64[us]")).dt.tz_localize(UTC)
