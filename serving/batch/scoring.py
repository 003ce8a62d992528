"""Batch scoring: a file of videos in, one probability per video out.

The same ``Scorer`` scores one chunk of rows for both engines: the local engine streams the
input chunk by chunk (Parquet row groups, CSV chunks), the Dask engine hands it partitions.
A chunk is validated with the data contract, joined with the creator store and, when asked,
the snapshots observed by the requested age, then goes through the shared feature code and
the native LightGBM model.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.arrays import RowArrays
from features.contract import COUNTER_COLUMNS, RATE_COLUMNS, DataError
from features.csv_safe import formula_like, write_csv
from features.inputs import file_rows
from features.loading import write_atomically
from features.reading import iter_table
from features.store import Timeline
from features.validation import attach_snapshots, clean_table
from likecast.atomic import naming, replacing
from likecast.echo import shown
from likecast.errors import UserError
from models.bundle import Answers, ModelBundle
from models.explain import Clock, explain
from serving.core.answer_log import AnswerLog, Entry

OUTPUT_COLUMNS = (
    "video_id",
    "age_minutes",
    "probability",
    "probability_low",
    "probability_high",
    "reached",
    "decided",
    "model_version",
    "threshold",
    "horizon_days",
)


@dataclass(frozen=True)
class ScoringAge:
    """The age each video is scored at: a fixed age, the age at a moment, or 0 (a draft)."""

    age_minutes: float | None = None
    at: pd.Timestamp | None = None

    def ages(self, posted_at: pd.Series) -> np.ndarray:
        """Each video's age in minutes at scoring, from its posting time."""
        if self.at is not None:
            return ((self.at - posted_at).dt.total_seconds() / 60.0).to_numpy(dtype="float64")
        return np.full(len(posted_at), float(self.age_minutes or 0.0))


_NO_SNAPSHOTS = pd.DataFrame(
    {
        "video_id": pd.Series([], dtype="string"),
        "age_minutes": pd.Series([], dtype="float64"),
        **{name: pd.Series([], dtype="float64") for name in (*COUNTER_COLUMNS, *RATE_COLUMNS)},
    }
)


class NoProbabilityError(UserError):
    """The model answered something that is no probability: the job stops, writing nothing."""


@dataclass(frozen=True)
class Scored:
    """One chunk scored: its scores, its rejects by table, and its log entry if asked."""

    scores: pd.DataFrame
    rejects: dict[str, pd.DataFrame]
    entry: Entry | None = None


@dataclass
class Scorer:
    """Everything a chunk needs, built once per process (once per Dask worker)."""

    bundle: ModelBundle
    version: str
    timeline: Timeline | None  # the creator store's; None: every creator is a cold start
    scoring_age: ScoringAge
    snapshots: Path | None = None
    explain: bool = False
    # where the answers are recorded, all under one request id per job; the Dask engine's
    # workers rebuild the Scorer without it and hand their entries back to the client's
    log: AnswerLog | None = None
    job_id: str = field(default_factory=lambda: uuid.uuid4().hex)

    def score(self, chunk: pd.DataFrame, first_row: int) -> tuple[pd.DataFrame, dict]:
        """Scores of one chunk, and its rejected rows by table (row numbers are the file's);
        the answers go to the log, waiting for room rather than drop a row."""
        scored = self.answer(chunk, first_row, logged=self.log is not None)
        if self.log is not None and scored.entry is not None:
            self.log.record(scored.entry, wait=True)
        return scored.scores, scored.rejects

    def answer(self, chunk: pd.DataFrame, first_row: int, logged: bool) -> Scored:
        """Scores of one chunk and its rejected rows by table; with ``logged``, also its
        answers as the prediction log's entry (None when nothing was scored)."""
        videos = clean_table(chunk, "videos")
        rejects = {"videos": _renumber(videos.rejects, first_row)}
        good = videos.clean
        ages = self.scoring_age.ages(good["posted_at"])
        early = ages < 0
        if early.any():
            # set aside and listed, but not a data error
            rejects["not_posted"] = _set_aside(
                chunk, good, early, first_row, "posted_at: after --at, nothing to score yet"
            )
            good, ages = good[~early], ages[~early]
        snapshots = _NO_SNAPSHOTS
        if self.snapshots is not None and len(good):
            videos.clean = good  # snapshots are checked against the videos still scored
            result = attach_snapshots(videos, clean_table(self._snapshots_of(good), "snapshots"))
            # snapshots are read per chunk, filtered: their row numbers would be the filtered
            # read's, so a rejected snapshot is named by its own columns (video, time) instead
            snapshots = result.clean
            rejects["snapshots"] = result.rejects.drop(columns="_row")
            # a video with a broken count is not scored from its other counts: the service
            # refuses such a request, and batch gives the same verdict
            broken = _first_reasons(result.rejects)
            why = good["video_id"].astype(str).map(broken).fillna("").to_numpy(dtype=object)
            why = np.where(why != "", "snapshots: " + why.astype(str), "")
            good, ages = self._drop(chunk, good, ages, why, first_row, rejects)
        if good.empty:
            return Scored(pd.DataFrame(columns=list(OUTPUT_COLUMNS)), rejects)
        raw, matrix, why = file_rows(good, ages, self.bundle.spec, self.timeline, snapshots)
        if (why != "").any():  # the one rule the service keeps too (features.answerable)
            good, ages = self._drop(chunk, good, ages, why, first_row, rejects)
            keep = why == ""
            raw = {name: values[keep] for name, values in raw.items()}
            matrix = matrix[keep]
        answers = self.bundle.answer_matrix(matrix, raw)
        empty = ~np.isfinite(answers.probability)
        if empty.any():
            first = str(good["video_id"].iloc[int(empty.argmax())])
            # a model fault, not the data's: a row counted as scored always has its number
            raise NoProbabilityError(
                f"model {self.version} gave no probability for {int(empty.sum()):,} of "
                f"{len(empty):,} videos (first: video_id {shown(first)}); nothing written: "
                "score with another model version"
            )
        entry = self._entry(good, raw, matrix, ages, answers, first_row) if logged else None
        spec = self.bundle.spec
        scores = pd.DataFrame(
            {
                "video_id": good["video_id"].astype("string").to_numpy(),
                "age_minutes": ages,
                "probability": answers.probability,
                "probability_low": answers.low,
                "probability_high": answers.high,
                "reached": answers.reached,
                "decided": answers.decided,
                "model_version": self.version,
                "threshold": spec.threshold,
                "horizon_days": spec.horizon_minutes / 1440,
            }
        )
        if self.explain:
            scores["factors"] = self._factors(matrix, answers, raw["posted_at"])
        return Scored(scores, rejects, entry)

    def _entry(
        self,
        good: pd.DataFrame,
        raw: RowArrays,
        matrix: np.ndarray,
        ages: np.ndarray,
        answers: Answers,
        first_row: int,
    ) -> Entry:
        """The chunk's answers as the prediction log records them, each with its file row
        number (as the rejects files number rows)."""
        spec, n = self.bundle.spec, len(matrix)
        return Entry(
            at=time.time(),
            request_id=self.job_id,
            model_version=self.version,
            threshold=spec.threshold,
            horizon_days=spec.horizon_minutes / 1440,
            names=spec.features,
            matrix=matrix,
            route=["score"] * n,
            item=(good["_row"].to_numpy() + first_row).tolist(),
            video_id=good["video_id"].astype(str).tolist(),
            creator_id=raw["creator_id"],
            category=raw["category"],
            posted_ns=raw["posted_at"],
            age_minutes=ages,
            probability=answers.probability,
            low=answers.low,
            high=answers.high,
            reached=answers.reached,
            decided=answers.decided,
            warnings=None,
        )

    @staticmethod
    def _drop(
        chunk: pd.DataFrame,
        good: pd.DataFrame,
        ages: np.ndarray,
        why: np.ndarray,
        first_row: int,
        rejects: dict[str, pd.DataFrame],
    ) -> tuple[pd.DataFrame, np.ndarray]:
        """Move the videos with a reason in ``why`` to the videos' rejects; the rest go on."""
        bad = why != ""
        if not bad.any():
            return good, ages
        out = _set_aside(chunk, good, bad, first_row, why[bad])
        rejects["videos"] = pd.concat([rejects["videos"], out], ignore_index=True)
        return good[~bad], ages[~bad]

    def features(
        self, videos: pd.DataFrame, ages: np.ndarray, snapshots: pd.DataFrame = _NO_SNAPSHOTS
    ) -> tuple[RowArrays, np.ndarray]:
        """Clean videos at their ages -> their raw arrays and the model's feature matrix."""
        raw, matrix, _ = file_rows(videos, ages, self.bundle.spec, self.timeline, snapshots)
        return raw, matrix

    def _snapshots_of(self, videos: pd.DataFrame) -> pd.DataFrame:
        """The snapshots of this chunk's videos only, so memory follows the chunk size."""
        assert self.snapshots is not None
        ids = videos["video_id"].astype(str).tolist()
        if self.snapshots.suffix.lower() == ".parquet":
            try:
                table = pq.read_table(self.snapshots, filters=[("video_id", "in", ids)])
            except (OSError, ValueError) as exc:
                raise DataError(f"{self.snapshots}: not a readable Parquet file ({exc})") from exc
            return table.to_pandas()
        wanted = set(ids)
        return pd.concat(
            [part[part["video_id"].isin(wanted)] for part in iter_table(self.snapshots, 200_000)],
            ignore_index=True,
        )

    def _factors(self, matrix: np.ndarray, answers: Answers, posted_ns: np.ndarray) -> list[str]:
        """Each row's factors as a JSON list, in English; empty where the counts decided it.

        Posting times are shown in UTC, the clock a file's times without an offset are read
        on (docs/adr/0036).
        """
        factors: list[list[dict]] = [[] for _ in range(len(matrix))]
        open_ = np.flatnonzero(~answers.decided)
        explained = explain(
            self.bundle,
            matrix[open_],
            answers.probability[open_],
            answers.low[open_],
            answers.high[open_],
            clocks=[
                Clock(datetime.fromtimestamp(int(ns) / 1e9, UTC), UTC, "UTC")
                for ns in posted_ns[open_].tolist()
            ],
        )
        for i, listed in zip(open_, explained, strict=True):
            factors[i] = listed
        return [json.dumps(listed) for listed in factors]


def _set_aside(
    chunk: pd.DataFrame, good: pd.DataFrame, mask: np.ndarray, first_row: int, reason: object
) -> pd.DataFrame:
    """The user's own rows that ``mask`` picks from the clean ones, with the file's row
    numbers and the reason, for the rejects file."""
    rows = good["_row"].to_numpy()[mask]
    out = chunk.iloc[rows - 1].copy()
    out.insert(0, "_row", rows + first_row)
    out["_reason"] = reason
    return out


def _first_reasons(rejects: pd.DataFrame) -> dict[str, str]:
    """The first rejected snapshot's reason of each video that has one."""
    if rejects.empty:
        return {}
    first = rejects.drop_duplicates("video_id")
    return dict(zip(first["video_id"].astype(str), first["_reason"].astype(str), strict=True))


def _renumber(rejects: pd.DataFrame, first_row: int) -> pd.DataFrame:
    return rejects.assign(_row=rejects["_row"] + first_row)


# -- the local engine ----------------------------------------------------------------------


@dataclass
class Outcome:
    """What a scoring job did, for its summary line and its exit code."""

    rows: int = 0
    scored: int = 0
    rejected: dict[str, int] = field(
        default_factory=lambda: {"videos": 0, "not_posted": 0, "snapshots": 0}
    )
    rejects_files: list[Path] = field(default_factory=list)
    formula_ids: int = 0  # ids written as given that a spreadsheet would read as formulas
    formula_example: str | None = None

    @property
    def reject_share(self) -> float:
        """The share of videos rejected as bad data."""
        return self.rejected["videos"] / self.rows if self.rows else 0.0


def output_schema(explain: bool) -> pa.Schema:
    """The Arrow schema of the scores, with ``factors`` when explained."""
    fields = [
        pa.field("video_id", pa.string()),
        pa.field("age_minutes", pa.float64()),
        pa.field("probability", pa.float64()),
        pa.field("probability_low", pa.float64()),
        pa.field("probability_high", pa.float64()),
        pa.field("reached", pa.bool_()),
        pa.field("decided", pa.bool_()),
        pa.field("model_version", pa.string()),
        pa.field("threshold", pa.int64()),
        pa.field("horizon_days", pa.float64()),
    ]
    return pa.schema([*fields, pa.field("factors", pa.string())] if explain else fields)


def as_arrow(scores: pd.DataFrame, explain: bool) -> pa.Table:
    """One fixed schema for every chunk, an empty one (all rows rejected) included."""
    schema = output_schema(explain)
    return pa.Table.from_pandas(scores[schema.names], schema=schema, preserve_index=False)


def rejects_paths(output: Path) -> dict[str, Path]:
    """Where each table's rejects go, beside ``output``."""
    stem = output.name.removesuffix(output.suffix)
    return {
        "videos": output.with_name(f"{stem}.rejects.csv"),
        "snapshots": output.with_name(f"{stem}.snapshots.rejects.csv"),
    }


def finish_rejects(outcome: Outcome, rejects: dict[str, list[pd.DataFrame]], output: Path) -> None:
    """Write each table's rejects beside the output (or remove a stale file from before).

    Videos posted after --at are listed with the videos' rejects, so none goes missing, but
    they are counted apart: they are not errors in the data.
    """
    for table, frames in rejects.items():
        outcome.rejected[table] = sum(len(r) for r in frames)
    rejects = {**rejects, "videos": [*rejects["videos"], *rejects.get("not_posted", [])]}
    for table, path in rejects_paths(output).items():
        parts = [r for r in rejects[table] if len(r)]
        if parts:
            frame = pd.concat(parts, ignore_index=True)
            write_atomically(frame.sort_values("_row") if "_row" in frame else frame, path)
            outcome.rejects_files.append(path)
        else:
            path.unlink(missing_ok=True)


def check_share(outcome: Outcome, limit: float) -> None:
    """Fail when more videos were rejected than ``limit`` allows."""
    if outcome.reject_share > limit:
        raise DataError(
            f"{outcome.rejected['videos']} of {outcome.rows} videos rejected "
            f"({outcome.reject_share:.1%} > limit {limit:.1%}); no output written, "
            f"reasons in {outcome.rejects_files[0]}"
        )


def score_local(
    scorer: Scorer,
    source: Path,
    output: Path,
    chunk_rows: int,
    reject_limit: float,
    advance: Callable[[int], None] = lambda _rows: None,
) -> Outcome:
    """Stream ``source`` chunk by chunk into ``output``; publish it only when complete.

    The scores go to a hidden partial file beside the output, renamed into place at the end:
    a job killed halfway leaves no file that looks finished, and a rerun starts clean.
    """
    if output.suffix.lower() not in (".parquet", ".csv"):
        raise DataError(f"{output}: output must end in .parquet or .csv")
    outcome = Outcome()
    rejects: dict[str, list[pd.DataFrame]] = {"videos": [], "not_posted": [], "snapshots": []}
    parquet = output.suffix.lower() == ".parquet"
    with replacing(output) as partial:
        with naming(output), _Sink(partial, parquet, scorer.explain, outcome) as sink:
            for chunk in iter_table(source, chunk_rows):
                scores, chunk_rejects = scorer.score(chunk, first_row=outcome.rows)
                sink.write(scores)
                for table, frame in chunk_rejects.items():
                    rejects[table].append(frame)
                outcome.rows += len(chunk)
                outcome.scored += len(scores)
                advance(len(chunk))
        finish_rejects(outcome, rejects, output)
        check_share(outcome, reject_limit)
    return outcome


class _Sink:
    """Appends chunks of scores to one Parquet file (a row group each) or one CSV file."""

    def __init__(self, path: Path, parquet: bool, explain: bool, outcome: Outcome) -> None:
        self.path, self.parquet, self.explain = path, parquet, explain
        self.outcome = outcome  # counts the formula-looking ids a CSV keeps
        self._writer: pq.ParquetWriter | None = None
        self._csv_started = False

    def __enter__(self) -> _Sink:
        if self.parquet:
            self._writer = pq.ParquetWriter(self.path, output_schema(self.explain))
        else:
            self.path.write_text("")
        return self

    def write(self, scores: pd.DataFrame) -> None:
        """Append one chunk of scores."""
        table = as_arrow(scores, self.explain)
        if self._writer is not None:
            self._writer.write_table(table)
            return
        frame = table.to_pandas()
        formulas = formula_like(frame["video_id"])
        if len(formulas):
            self.outcome.formula_ids += len(formulas)
            self.outcome.formula_example = self.outcome.formula_example or str(formulas.iloc[0])
        with self.path.open("a", newline="") as handle:
            write_csv(frame, handle, header=not self._csv_started)
        self._csv_started = True

    def __exit__(self, *exc: object) -> None:
        if self._writer is not None:
            self._writer.close()
        elif not self._csv_started:  # every row rejected: still a CSV with its header
            write_csv(pd.DataFrame(columns=output_schema(self.explain).names), self.path)
