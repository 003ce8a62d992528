"""Reading the user's files: CSV, Parquet or a folder of Parquet parts -> raw frames.

Structural problems (no such file, an unknown type, the wrong encoding or delimiter, a folder
of mixed parts) stop the command with one line that names the file and the fix; what the
rows hold is ``features.validation``'s business.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.contract import (
    TABLES,
    DataError,
)


def table_paths(data_dir: Path) -> list[Path]:
    """Every path a data folder's tables may be read from, there or not: an output written
    to one that is missing would become the table the next command reads."""
    return [
        data_dir / name for table in TABLES for name in (f"{table}.parquet", f"{table}.csv", table)
    ]


def find_table(data_dir: Path, table: str) -> Path:
    """A table is DIR/<table>.parquet, DIR/<table>.csv, or a folder DIR/<table>/ of parts."""
    if not data_dir.exists():
        raise DataError(f"{data_dir}: no such directory")
    if not data_dir.is_dir():
        raise DataError(f"{data_dir}: expected a directory holding videos and snapshots tables")
    for candidate in (data_dir / f"{table}.parquet", data_dir / f"{table}.csv", data_dir / table):
        if candidate.exists():
            return candidate
    raise DataError(
        f"{data_dir}: no {table} table (expected {table}.parquet, {table}.csv or a {table}/ folder)"
    )


def parquet_parts(folder: Path) -> list[Path]:
    """The Parquet parts of a table folder, in name order; any other data file is an error.

    Hidden files and ones starting with "_" (markers such as _SUCCESS) are not data. A CSV
    among the parts would otherwise be skipped without a word, and its rows lost.
    """
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.name[0] not in "._")
    strangers = [p.name for p in files if p.suffix.lower() != ".parquet"]
    if strangers:
        raise DataError(
            f"{folder}: a table folder holds Parquet parts only, found {', '.join(strangers[:3])}"
            + (f" (+{len(strangers) - 3} more)" if len(strangers) > 3 else "")
        )
    if not files:
        raise DataError(f"{folder}: folder holds no .parquet parts")
    return files


def parquet_rows(path: Path) -> int:
    """The rows of a Parquet file or folder of parts, from their footers: no data is read."""
    files = parquet_parts(path) if path.is_dir() else [path]
    return sum(pq.read_metadata(file).num_rows for file in files)


def read_table(path: Path) -> pd.DataFrame:
    """Read a CSV or Parquet file, or a folder of Parquet parts, as raw columns."""
    if path.is_dir():
        return pd.concat([_read_parquet(p) for p in parquet_parts(path)], ignore_index=True)
    suffix = _file_type(path)
    return _read_parquet(path) if suffix == ".parquet" else _read_csv(path)


def _file_type(path: Path) -> str:
    """The suffix of a data file that is there and not empty: ``.parquet`` or ``.csv``."""
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise DataError(f"{path}: file is empty")
    suffix = path.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise DataError(f"{path}: unknown file type {suffix!r}; expected .csv or .parquet")
    return suffix


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        return pq.read_table(path).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from exc


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=True, encoding="utf-8", lineterminator=_line_end(path)
        )
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: file is empty") from exc
    except pd.errors.ParserError as exc:
        raise DataError(f"{path}: not a readable CSV file ({_first_line(exc)})") from exc
    _check_delimiter(frame, path)
    return frame


def _line_end(path: Path) -> str | None:
    """How a CSV's lines end, for pandas: a file whose first line ends in ``\\n`` alone is
    read with ``\\n`` as its only line break, so a carriage return inside a cell (an id
    ``\\r1``) stays in the cell; pandas would otherwise end the line there and drop it.
    A file of ``\\r\\n`` (or ``\\r``) lines is read as pandas reads it."""
    with path.open("rb") as file:
        head = file.read(1 << 16)
    first = head.find(b"\n")
    if first > 0 and head[first - 1 : first] != b"\r" and b"\r" not in head[:first]:
        return "\n"
    return None


def _check_delimiter(frame: pd.DataFrame, path: Path) -> None:
    if frame.shape[1] == 1:
        header = str(frame.columns[0])
        for delimiter, name in ((";", "semicolon"), ("\t", "tab"), ("|", "pipe")):
            if delimiter in header:
                raise DataError(
                    f"{path}: looks {name}-delimited; likecast reads comma-separated CSV"
                )


def iter_table(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """A table in chunks of about ``rows`` rows, as raw columns; never all of it at once.

    Parquet is read by row groups (a file, or a folder of parts), CSV by pandas chunks;
    both fail with the same one-line messages as ``read_table``.
    """
    if path.is_dir():
        for part in parquet_parts(path):
            yield from iter_table(part, rows)
        return
    if _file_type(path) == ".parquet":
        yield from _parquet_chunks(path, rows)
    else:
        yield from _csv_chunks(path, rows)


def _parquet_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    # Whole row groups, Parquet's unit of reading: memory follows the largest one and
    # stays flat, where iter_batches kept allocating (docs/adr/0022).
    try:
        parquet = pq.ParquetFile(path)
        for group in range(parquet.num_row_groups):
            table = parquet.read_row_group(group)
            for start in range(0, table.num_rows, rows):
                yield table.slice(start, rows).to_pandas()
    except (pa.ArrowInvalid, OSError) as exc:
        raise DataError(f"{path}: not a readable Parquet file ({_first_line(exc)})") from exc


def _csv_chunks(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    try:
        chunks = pd.read_csv(
            path, dtype=str, chunksize=rows, encoding="utf-8", lineterminator=_line_end(path)
        )
        for number, chunk in enumerate(chunks):
            if number == 0:
                _check_delimiter(chunk, path)
            yield chunk
    except UnicodeDecodeError as exc:
        raise _not_utf8(path, exc) from exc
    except (pd.errors.EmptyDataError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable CSV file ({_first_line(exc)})") from exc


def _not_utf8(path: Path, exc: UnicodeDecodeError) -> DataError:
    return DataError(
        f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
        "save it as UTF-8"
    )


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


@dataclass(frozen=True)
class Part:
    """One partition of a data set: a file of videos and the file of their snapshots."""

    name: str
    videos: Path
    snapshots: Path


def data_parts(data_dir: Path) -> list[Part]:
    """The data set's partitions: the same-named parts of its two table folders, or its two
    tables whole as one partition.

    A partition is meant to hold whole creators (their videos and those videos' snapshots);
    the partitioned trainer checks that no creator or video appears in two.
    """
    data_dir = Path(data_dir)
    videos, snapshots = find_table(data_dir, "videos"), find_table(data_dir, "snapshots")
    if videos.is_dir() != snapshots.is_dir():
        raise DataError(
            f"{data_dir}: videos and snapshots must both be folders of parts or both be files"
        )
    if not videos.is_dir():
        return [Part(data_dir.name or "data", videos, snapshots)]
    by_name = [{p.name: p for p in parquet_parts(folder)} for folder in (videos, snapshots)]
    unmatched = sorted(by_name[0].keys() ^ by_name[1].keys())
    if unmatched:
        raise DataError(
            f"{data_dir}: videos/ and snapshots/ must hold parts of the same names (a part's "
            f"snapshots beside its videos); unmatched: {', '.join(unmatched[:3])}"
        )
    return [Part(Path(n).stem, by_name[0][n], by_name[1][n]) for n in sorted(by_name[0])]


def files_digest(data_dir: Path) -> str:
    """A short hash of the data set's input files (names and bytes), read in blocks."""
    digest = hashlib.sha256()
    for table in ("videos", "snapshots"):
        path = find_table(Path(data_dir), table)
        files = parquet_parts(path) if path.is_dir() else [path]
        for file in files:
            digest.update(file.name.encode())
            with file.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
    return digest.hexdigest()[:16]
