"""The Dask engine: the same chunk scoring as the local engine, one task per Parquet part.

Tasks are planned from Parquet metadata alone (row groups and their row counts), so the
client never reads the data and every task knows the file row number of its first row.
The scorer, as plain data (model files as text, the creator table, options), is scattered to
the workers once; each worker builds its Scorer on first use and keeps it, so the model is
loaded once per worker, not once per partition. Each task writes its own part file; the
client writes ``_SUCCESS`` last and renames the folder into place. When the prediction log
is on, each task also returns its answers as a log entry and the client records them in
its own log, as the local engine does: every row scored is logged, in the client's home,
whether or not the workers share it.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import cast

import pandas as pd
import pyarrow.parquet as pq

from features.contract import DataError
from features.reading import parquet_parts
from features.store import Timeline
from likecast.atomic import replacing
from likecast.dask_cluster import cluster
from models.bundle import ModelBundle
from serving.batch.scoring import Outcome, Scorer, ScoringAge, as_arrow, check_share, finish_rejects
from serving.core.answer_log import Entry

ROWS_PER_TASK = 250_000


@dataclass(frozen=True)
class Task:
    """One Dask task: whole row groups of one Parquet file, and the row they start at."""

    path: str
    row_groups: tuple[int, ...]
    first_row: int
    part: int


@dataclass(frozen=True)
class ScorerData:
    """A Scorer as plain data (its model as text), so nothing shipped to a worker is code."""

    model_texts: dict[str, str]
    version: str
    timeline: Timeline | None
    scoring_age: ScoringAge
    snapshots: str | None
    explain: bool
    logged: bool  # tasks hand their answers back for the client's prediction log

    @classmethod
    def of(cls, scorer: Scorer) -> ScorerData:
        """The plain data that rebuilds ``scorer``."""
        return cls(
            model_texts=scorer.bundle.to_texts(),
            version=scorer.version,
            timeline=scorer.timeline,
            scoring_age=scorer.scoring_age,
            snapshots=str(scorer.snapshots) if scorer.snapshots else None,
            explain=scorer.explain,
            # a log turned off (no folder) needs no entries shipped back
            logged=scorer.log is not None and scorer.log.folder is not None,
        )

    def scorer(self) -> Scorer:
        """The Scorer this data describes; its model is loaded from the texts."""
        return Scorer(
            bundle=ModelBundle.from_texts(self.model_texts),
            version=self.version,
            timeline=self.timeline,
            scoring_age=self.scoring_age,
            snapshots=Path(self.snapshots) if self.snapshots else None,
            explain=self.explain,
        )

    @cached_property  # hashed once per worker: the scattered object is shared by its tasks
    def key(self) -> str:
        """A digest of the model and options: one Scorer per key on a worker."""
        text = "".join(self.model_texts.values()) + repr((self.scoring_age, self.snapshots))
        return hashlib.sha256(text.encode()).hexdigest()


_SCORERS: dict[str, Scorer] = {}  # per worker process: built once, reused by every task


def _scorer(data: ScorerData) -> Scorer:
    if data.key not in _SCORERS:
        _SCORERS[data.key] = data.scorer()
    return _SCORERS[data.key]


def plan(source: Path, rows_per_task: int = ROWS_PER_TASK) -> list[Task]:
    """Tasks of whole row groups, about ``rows_per_task`` rows each, in file order."""
    if source.is_dir():
        files = parquet_parts(source)
    elif source.suffix.lower() == ".parquet":
        files = [source]
    else:
        raise DataError(f"{source}: the dask engine reads Parquet (a file or a folder of parts)")
    tasks: list[Task] = []
    first_row = 0
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
        except (OSError, ValueError) as exc:
            raise DataError(f"{path}: not a readable Parquet file ({exc})") from exc
        groups: list[int] = []
        rows = 0
        for group in range(meta.num_row_groups):
            groups.append(group)
            rows += meta.row_group(group).num_rows
            if rows >= rows_per_task or group == meta.num_row_groups - 1:
                tasks.append(Task(str(path), tuple(groups), first_row, len(tasks)))
                first_row += rows
                groups, rows = [], 0
    return tasks


def score_task(data: ScorerData, task: Task, folder: str) -> tuple[int, dict, Entry | None]:
    """Score one task's row groups into its own part file; return rows read, rejects and,
    when logged, the answers' log entry."""
    raw = pq.ParquetFile(task.path).read_row_groups(list(task.row_groups)).to_pandas()
    scorer = _scorer(data)
    scored = scorer.answer(raw, task.first_row, data.logged)
    part = Path(folder) / f"part-{task.part:05d}.parquet"
    pq.write_table(as_arrow(scored.scores, scorer.explain), part)
    return len(raw), scored.rejects, scored.entry


def score_dask(
    scorer: Scorer,
    source: Path,
    output: Path,
    reject_limit: float,
    scheduler: str | None = None,
    workers: int | None = None,
    advance: Callable[[int], None] = lambda _rows: None,
) -> Outcome:
    """Score on a Dask cluster into ``output``/part-*.parquet, then ``_SUCCESS``, then rename."""
    from dask.distributed import Client, as_completed

    tasks = plan(source)
    data = ScorerData.of(scorer)
    outcome = Outcome()
    rejects: dict[str, list[pd.DataFrame]] = {"videos": [], "not_posted": [], "snapshots": []}
    with replacing(output) as partial:  # an older output is removed only after
        partial.mkdir()
        with cluster(scheduler, workers) as started:
            client = cast(Client, started)  # cluster() is typed to yield an object
            shared = client.scatter(data, broadcast=True)
            # no list of the futures is kept: a task's result (its entry) is freed once read
            for future in as_completed(
                [
                    client.submit(score_task, shared, task, str(partial), pure=False)
                    for task in tasks
                ]
            ):
                rows, task_rejects, entry = future.result()
                if scorer.log is not None and entry is not None:
                    # one request id per job: the workers' Scorers are shared by jobs
                    entry = dataclasses.replace(entry, request_id=scorer.job_id)
                    scorer.log.record(entry, wait=True)
                outcome.rows += rows
                for table, frame in task_rejects.items():
                    rejects[table].append(frame)
                advance(rows)
        finish_rejects(outcome, rejects, output)
        check_share(outcome, reject_limit)
        outcome.scored = sum(pq.ParquetFile(p).metadata.num_rows for p in partial.glob("*.parquet"))
        (partial / "_SUCCESS").write_text("")
    return outcome
