"""Validating raw tables against the data contract: typed columns, and every bad row set aside.

Bad rows are set aside with a reason rather than dropped, so a user can see and fix them:
each broken rule is a ``Problem`` listing its rows, numbered as in the user's file. A table
that cannot be checked at all (a missing column, no valid value) stops the command in one line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas._libs.tslibs.nattype import NaTType

from features.contract import (
    COUNTER_COLUMNS,
    SNAPSHOTS,
    TABLES,
    VIDEOS,
    Column,
    DataError,
    snapshot_ages,
    snapshot_problems,
)
from features.limits import time_range
from likecast.echo import shown

FIRST_ROWS_SHOWN = 5


@dataclass(frozen=True)
class Problem:
    """One broken rule of one table and every row that breaks it."""

    table: str
    column: str
    rule: str
    rows: tuple[int, ...]  # 1-based data row numbers, all of them

    def line(self) -> str:
        """The problem in one line, with its first rows."""
        first = ", ".join(str(r) for r in self.rows[:FIRST_ROWS_SHOWN])
        extra = len(self.rows) - FIRST_ROWS_SHOWN
        more = f" (+{extra} more)" if extra > 0 else ""
        where = f"{self.table}.{self.column}: {self.rule}"
        return f"{where}: {len(self.rows)} rows, e.g. rows {first}{more}"


@dataclass
class TableResult:
    """A cleaned table plus what was set aside from it."""

    name: str
    clean: pd.DataFrame
    rejects: pd.DataFrame  # the original rows, with _row and _reason
    total_rows: int
    problems: list[Problem] = field(default_factory=list)

    @property
    def reject_share(self) -> float:
        """The share of the table's rows set aside."""
        return len(self.rejects) / self.total_rows if self.total_rows else 0.0


@dataclass(frozen=True)
class Coerced:
    """One raw column in its contract type, and what its rules compare."""

    values: pd.Series  # the clean column; what breaks a rule or does not parse is missing
    comparable: pd.Series  # what range rules compare: numbers as floats, any-resolution times
    infinite: pd.Series  # numbers given as inf or -inf


def _coerce(raw: pd.Series, column: Column) -> Coerced:
    """Convert one raw column to its contract type; unparseable values become missing."""
    none = pd.Series(False, index=raw.index)
    if column.kind == "str":
        if raw.map(lambda v: isinstance(v, (list, tuple, dict, np.ndarray))).any():
            raise DataError(
                f"{column.name}: expected text, found lists or records; join them into one "
                "string (hashtags: space- or comma-separated)"
            )
        out = raw.astype("string")
        out = out.where(out.str.strip().str.len() > 0)
        return Coerced(out, out, none)
    if column.kind == "timestamp":
        stamps = _any_resolution_utc(raw)
        low, high = time_range()
        inside = stamps.isna() | ((stamps >= low) & (stamps <= high))
        return Coerced(stamps.where(inside).astype("datetime64[ns, UTC]"), stamps, none)
    if column.kind == "bool":
        if pd.api.types.is_bool_dtype(raw):
            flags = raw.astype("boolean")
        else:
            words = raw.astype("string").str.strip().str.lower()
            yes_no = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
            flags = words.map(yes_no).astype("boolean")
        return Coerced(flags, flags, none)
    if pd.api.types.is_bool_dtype(raw):
        numbers = pd.Series(np.nan, index=raw.index)  # a boolean is no number
    else:
        numbers = pd.to_numeric(raw, errors="coerce").astype("float64")
    infinite = numbers.notna() & ~np.isfinite(numbers.fillna(0.0))
    numbers = numbers.where(~infinite)
    if column.kind == "int":
        whole = numbers.where(np.isclose(numbers, np.round(numbers)) | numbers.isna())
        # beyond 2^53 a float is no exact integer: the range rule names it, the column drops it
        exact = whole.where(whole.abs() <= 2**53)
        return Coerced(exact.round().astype("Int64"), whole, infinite)
    return Coerced(numbers, numbers, infinite)


def _any_resolution_utc(raw: pd.Series) -> pd.Series:
    """Times as UTC at whatever resolution holds them (year 9999 overflows nanoseconds)."""
    if pd.api.types.is_datetime64_any_dtype(raw):
        stamps = pd.Series(raw, copy=False)
        return stamps.dt.tz_localize("UTC") if stamps.dt.tz is None else stamps.dt.tz_convert("UTC")
    if pd.api.types.is_numeric_dtype(raw):
        return pd.Series(pd.NaT, index=raw.index, dtype="datetime64[ns, UTC]")
    text = raw.astype("string")
    try:
        return pd.to_datetime(text, utc=True, errors="coerce", format="mixed")
    except (OverflowError, ValueError):  # one value pandas cannot hold: parse one by one
        return text.map(_one_time).astype("datetime64[us, UTC]")


def _one_time(text: object) -> pd.Timestamp | NaTType:
    try:
        stamp = pd.Timestamp(str(text))
    except (ValueError, OverflowError):
        return pd.NaT
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


class _Reasons:
    """Why each row of one table is set aside, gathered rule by rule.

    Every rule a row breaks is named in its reason, and every broken rule is a ``Problem``
    listing the rows, numbered as in the user's file.
    """

    def __init__(self, table: str, index: pd.Index, rows: np.ndarray, problems: list[Problem]):
        self.table = table
        self.rows = rows  # each row's 1-based number in the user's file
        self.problems = problems
        self.text = pd.Series("", index=index, dtype=object)

    def flag(self, mask: pd.Series, column: str, rule: str) -> None:
        """Set aside the rows ``mask`` picks (missing counts as False) for ``column``: ``rule``."""
        mask = mask.fillna(False).astype(bool)
        if mask.any():
            picked = self.rows[mask.to_numpy()]
            self.problems.append(Problem(self.table, column, rule, tuple(int(r) for r in picked)))
            self.text[mask] = self.text[mask] + f"{column}: {rule}; "

    @property
    def bad(self) -> pd.Series:
        """The rows with at least one reason."""
        return self.text != ""

    def of_bad(self) -> pd.Series:
        """The reasons of the rows set aside, in one line each."""
        return self.text[self.bad].str.rstrip("; ")


def clean_table(raw: pd.DataFrame, table: str) -> TableResult:
    """Apply the column rules of one table; cross-table rules come after."""
    contract = TABLES[table]
    raw = raw.reset_index(drop=True)
    missing = contract.missing(raw.columns)
    if missing:
        raise DataError(f"{table}: missing required column {', '.join(repr(m) for m in missing)}")
    if raw.empty:
        raise DataError(f"{table}: table has no rows")

    clean = raw.copy()
    reasons = _Reasons(table, raw.index, np.arange(1, len(raw) + 1), [])
    for column in contract.columns:
        if column.name in raw.columns:
            clean[column.name] = _checked_column(table, raw[column.name], column, reasons.flag)

    # a key of given columns is checked here; a key with a filled column (the snapshots'
    # age, which may come from observed_at) once it is filled, in ``attach_snapshots``
    filled = {c.name for c in contract.columns if c.filled}
    if not filled.intersection(contract.key):
        given_key = clean[list(contract.key)].notna().all(axis=1)
        duplicate = clean.duplicated(list(contract.key), keep="first") & given_key
        reasons.flag(duplicate, contract.key[-1], "duplicate key")
    return _split(table, raw, clean, reasons)


Flag = Callable[[pd.Series, str, str], None]


def _checked_column(table: str, raw: pd.Series, column: Column, flag: Flag) -> pd.Series:
    """One column in its contract type; the rows that break its rules are flagged."""
    try:
        coerced = _coerce(raw, column)
    except DataError as exc:
        raise DataError(f"{table}.{exc}") from exc
    given = raw.notna()
    if raw.dtype == object or pd.api.types.is_string_dtype(raw):
        given &= raw.astype("string").str.strip().str.len() > 0
    wrong = given & coerced.comparable.isna() & ~coerced.infinite
    if given.any() and wrong.sum() == given.sum() and column.kind != "str":
        raise DataError(
            f"{table}.{column.name}: no value is a valid {column.kind} "
            f"(found {raw.dtype} such as {shown(raw[given].iloc[0])})"
        )
    flag(wrong, column.name, f"expected {column.kind}")
    flag(coerced.infinite, column.name, "must be a finite number")
    if column.required:
        flag(~given, column.name, "required value missing")
    _flag_out_of_range(coerced, column, flag)
    return coerced.values


def _flag_out_of_range(coerced: Coerced, column: Column, flag: Flag) -> None:
    """Flag the values outside the column's range (times outside the contract's years)."""
    values, comparable = coerced.values, coerced.comparable
    if column.kind == "timestamp":
        low, high = time_range()
        outside = comparable.notna() & values.isna()
        flag(outside, column.name, f"must be between {low:%Y-%m-%d} and {high:%Y-%m-%d}")
    if column.minimum is not None:
        below = (
            comparable < column.minimum
            if not column.exclusive_minimum
            else comparable <= column.minimum
        )
        flag(below, column.name, f"must be {column.rule('below')}")
    if column.maximum is not None:
        flag(comparable > column.maximum, column.name, f"must be {column.rule('above')}")


def _split(table: str, raw: pd.DataFrame, clean: pd.DataFrame, reasons: _Reasons) -> TableResult:
    bad = reasons.bad
    rejects = raw[bad].copy()
    rejects.insert(0, "_row", np.flatnonzero(bad.to_numpy()) + 1)
    rejects["_reason"] = reasons.of_bad()
    kept = clean[~bad].copy()
    kept["_row"] = np.flatnonzero(~bad.to_numpy()) + 1
    return TableResult(table, kept, rejects, len(raw), reasons.problems)


def attach_snapshots(videos: TableResult, snapshots: TableResult) -> TableResult:
    """Rules that need both tables: unknown videos, timing, monotone counters, duplicates.

    A snapshot of an unknown video breaks that rule alone, naming the id: the duplicate and
    monotone rules compare snapshots of one video, and unknown ids are no video.
    """
    if videos.clean.empty:  # nothing to attach to: say why in one line, not an IndexError
        worst = max(videos.problems, key=lambda p: len(p.rows)) if videos.problems else None
        why = f"; most common: {worst.line()}" if worst else ""
        raise DataError(f"videos: all {videos.total_rows} rows were rejected{why}")
    snaps = snapshots.clean
    raw_rows = snaps["_row"].to_numpy()
    # Ids repeat a dozen times per video: as a categorical over the videos table's ids, every
    # later join, sort and group works on integer codes instead of hashing strings. An id
    # not among the videos gets no code, which is exactly the "unknown video" rule.
    known_ids = videos.clean["video_id"].astype(str).to_numpy()
    video_id = pd.Categorical(
        snaps["video_id"].astype(str).to_numpy()
        if not isinstance(snaps["video_id"].dtype, pd.CategoricalDtype)
        else snaps["video_id"].cat.rename_categories(str),
        categories=known_ids,
    )
    code = video_id.codes
    posted_ns = videos.clean["posted_at"].to_numpy(dtype="datetime64[ns]")
    posted = pd.Series(
        pd.to_datetime(
            np.where(code >= 0, posted_ns[np.maximum(code, 0)], np.datetime64("NaT")), utc=True
        ),
        index=snaps.index,
    )
    written_ids = snaps["video_id"].astype(str).to_numpy()  # as the user wrote them
    snaps = snaps.assign(video_id=pd.Series(video_id, index=snaps.index))
    reasons = _Reasons("snapshots", snaps.index, raw_rows, list(snapshots.problems))
    flag = reasons.flag
    unknown = posted.isna()
    flag(unknown, "video_id", f"unknown video (not in videos): {_named(written_ids[code < 0])}")
    missing = np.full(len(snaps), np.nan)
    from_times = missing
    if "observed_at" in snaps.columns:
        from_times = ((snaps["observed_at"] - posted).dt.total_seconds() / 60.0).to_numpy()
    given = (
        snaps["age_minutes"].to_numpy(dtype="float64", na_value=np.nan)
        if "age_minutes" in snaps.columns
        else missing
    )
    ages, timing = snapshot_ages(from_times, given)
    known = posted.notna().to_numpy()  # an unknown video's snapshot has one reason already
    for mask, column, rule in timing:
        flag(pd.Series(mask & known, index=snaps.index), column, rule)
    age = pd.Series(ages, index=snaps.index)
    snaps = snaps.assign(age_minutes=age, observed_at=_observed_at(snaps, posted, ages))

    # each unknown video's snapshot is a video of its own for the rules below
    video = np.where(code >= 0, code, len(known_ids) + np.arange(len(code)))
    duplicate = pd.DataFrame({"video": video, "age": age.to_numpy()}).duplicated(keep="first")
    flag(
        pd.Series(duplicate.to_numpy(), index=snaps.index),
        "age_minutes",
        "duplicate key (video_id, age)",
    )
    counts = {
        name: snaps[name].to_numpy(dtype="float64", na_value=np.nan)
        for name in COUNTER_COLUMNS
        if name in snaps.columns
    }
    for mask, column, rule in snapshot_problems(
        video, age.to_numpy(dtype="float64", na_value=np.nan), counts
    ):
        flag(pd.Series(mask, index=snaps.index), column, rule)

    merged = TableResult("snapshots", snaps, snapshots.rejects, snapshots.total_rows)
    bad = reasons.bad
    if bad.any():
        extra = snaps.loc[bad, ["_row"]].assign(_reason=reasons.of_bad())
        late = _original_rows(snapshots, extra)
        merged.rejects = pd.concat([snapshots.rejects, late], ignore_index=True)
    merged.clean = snaps[~bad]
    merged.problems = reasons.problems
    return merged


def _named(ids: np.ndarray) -> str:
    """The ids, the first few quoted: the user looks them up in the videos table."""
    distinct = pd.unique(ids)
    first = ", ".join(shown(str(i)) for i in distinct[:FIRST_ROWS_SHOWN])
    extra = len(distinct) - FIRST_ROWS_SHOWN
    return first + (f" (+{extra} more ids)" if extra > 0 else "")


def _original_rows(result: TableResult, extra: pd.DataFrame) -> pd.DataFrame:
    """Rows rejected late, shown with the cleaned values and the reason."""
    rows = result.clean.set_index("_row").loc[extra["_row"]].reset_index()
    rows["_reason"] = extra["_reason"].to_numpy()
    return rows


# The typed frames the loader hands on, checked against the contract: a loader bug stops
# here instead of becoming a silent feature bug.
VIDEOS_SCHEMA = VIDEOS.schema()
SNAPSHOTS_SCHEMA = SNAPSHOTS.schema()


def finish_videos(result: TableResult) -> pd.DataFrame:
    videos = result.clean.drop(columns="_row")
    if "category" in videos.columns:
        videos["category"] = videos["category"].astype("category")
    VIDEOS_SCHEMA.validate(videos)
    return videos.reset_index(drop=True)


def finish_snapshots(result: TableResult) -> pd.DataFrame:
    snaps = result.clean.drop(columns="_row")
    snaps = snaps.sort_values(["video_id", "age_minutes"], kind="stable").reset_index(drop=True)
    SNAPSHOTS_SCHEMA.validate(snaps)
    return snaps


def _observed_at(snaps: pd.DataFrame, posted: pd.Series, ages: np.ndarray) -> pd.Series:
    """Each snapshot's time: as written where it was given (the age came from it), else its
    posting time plus its age. The age in float minutes does not carry a time back exactly:
    12:00:00 came back as 12:00:00.000000002."""
    observed = posted + pd.to_timedelta(np.rint(ages * 60e9), unit="ns")
    if "observed_at" in snaps.columns:
        # only where the age is known: a time the rules refused may not fit nanoseconds
        exact = (snaps["observed_at"].notna() & observed.notna()).to_numpy()
        observed[exact] = snaps["observed_at"][exact].astype(observed.dtype)
    return observed
