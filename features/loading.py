"""One loader for every command: read a data set, validate it, hand on typed frames.

Reading files is ``features.reading``, the contract's rules ``features.validation``; this
module puts them together, and writes what was set aside beside the data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from features.contract import DataError
from features.csv_safe import KEYS, formula_like, formula_warning, write_csv
from features.reading import files_digest, find_table, read_table
from features.validation import (
    Problem,
    TableResult,
    attach_snapshots,
    clean_table,
    finish_snapshots,
    finish_videos,
)
from likecast.atomic import naming, replacing
from likecast.echo import capped


@dataclass
class Dataset:
    """The typed videos and snapshots of a data set, and what loading set aside."""

    videos: pd.DataFrame
    snapshots: pd.DataFrame
    results: dict[str, TableResult]

    @property
    def problems(self) -> list[Problem]:
        """Every broken rule of both tables."""
        return [p for r in self.results.values() for p in r.problems]

    def problem_lines(self) -> list[str]:
        """One line per broken rule, the first ``MAX_PROBLEMS`` of them and a count of the
        rest: the rejects files hold every row and its reasons."""
        first, more = capped(self.problems)
        lines = [problem.line() for problem in first]
        if more:
            lines.append(f"… and {more:,} more problems, in the rejects files")
        return lines

    def formula_ids_warning(self) -> str | None:
        """A warning naming the ids of the rejects files a spreadsheet would read as
        formulas: they are written as given, since a rewritten key no longer joins back."""
        found = [
            formula_like(result.rejects[key].dropna().astype(str))
            for result in self.results.values()
            for key in KEYS
            if key in result.rejects.columns
        ]
        count = sum(len(ids) for ids in found)
        if not count:
            return None
        example = next(str(ids.iloc[0]) for ids in found if len(ids))
        return formula_warning(count, "ids in the rejects", example, "the rejects files")

    def check_reject_share(self, limit: float) -> None:
        """Fail when any table lost more than ``limit`` of its rows."""
        for result in self.results.values():
            if result.reject_share > limit:
                worst = max(result.problems, key=lambda p: len(p.rows))
                raise DataError(
                    f"{result.name}: {len(result.rejects)} of {result.total_rows} rows rejected "
                    f"({result.reject_share:.1%} > limit {limit:.1%}); most common: {worst.line()}"
                )

    def write_rejects(self, folder: Path) -> list[Path]:
        """Write each table's rejected rows; a table with none loses an older run's file,
        which would otherwise still list rows this run accepted."""
        written = []
        for result in self.results.values():
            path = folder / f"{result.name}.rejects.csv"
            if len(result.rejects):
                write_atomically(result.rejects, path)
                written.append(path)
            else:
                path.unlink(missing_ok=True)
        return written


def load_dataset(data_dir: Path) -> Dataset:
    """Read, clean and cross-check the videos and snapshots tables under ``data_dir``."""
    data_dir = Path(data_dir)
    return load_tables(find_table(data_dir, "videos"), find_table(data_dir, "snapshots"))


def load_tables(videos_path: Path, snapshots_path: Path) -> Dataset:
    """Read, clean and cross-check one videos table and the snapshots of its videos."""
    videos = clean_table(read_table(videos_path), "videos")
    snapshots = clean_table(read_table(snapshots_path), "snapshots")
    snapshots = attach_snapshots(videos, snapshots)
    return Dataset(
        videos=finish_videos(videos),
        snapshots=finish_snapshots(snapshots),
        results={"videos": videos, "snapshots": snapshots},
    )


def write_atomically(frame: pd.DataFrame, path: Path) -> None:
    """Write a frame as Parquet or CSV (by ``path``'s suffix): readers never see half a file."""
    with naming(path), replacing(path) as partial:
        if path.suffix == ".parquet":
            frame.to_parquet(partial, index=False)
        else:
            write_csv(frame, partial)  # no spreadsheet formulas from the input


def fingerprint(data_dir: Path, dataset: Dataset) -> dict[str, str | int]:
    """What a run trained on: row counts, posting dates, and a hash of the input files."""
    posted = dataset.videos["posted_at"]
    return {
        "videos": len(dataset.videos),
        "snapshots": len(dataset.snapshots),
        "rejected_rows": sum(len(r.rejects) for r in dataset.results.values()),
        "first_posted": posted.min().isoformat(),
        "last_posted": posted.max().isoformat(),
        "sha256": files_digest(data_dir),
    }
