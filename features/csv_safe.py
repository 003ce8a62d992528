"""Neutralising spreadsheet formulas in the CSV files likecast writes (OWASP: CSV injection).

A caption such as ``=HYPERLINK("http://evil", "x")`` comes from whoever posted the video;
written verbatim into a CSV that someone opens in a spreadsheet, it runs as a formula. Text
cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading
single quote, which spreadsheets show as text. Numbers, and text that is a plain number
(``-1.5``), are left alone.

A spreadsheet that splits on ``;`` (the list separator of many locales), a tab or a pipe
starts a new cell inside ours: ``;=1+1`` was read as an empty cell and the formula
``=1+1``, since a quote that does not open a field is no quote to it (OWASP's advice on
separators inside a cell; docs/facts.md). So every part of a text cell after such a
separator or a line break is neutralised as a cell's start is. Every text cell is also
written inside double quotes, which keeps a carriage return in its cell: Python's writer
does not quote one when lines end in ``\\n`` alone, and readers took it for a line break.

Keys are the exception: ``video_id`` and ``creator_id`` are written exactly as given, since a
rewritten id no longer joins back to the user's tables (64 of youtube_in's 16,303 ids start
with ``-``, e.g. ``-0N9r10xb_0``), and a score that cannot be joined is lost. Whoever writes
them warns about the formula-looking ones instead (``formula_like``).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import IO

import pandas as pd

from features.limits import PLAIN_NUMBER
from likecast.echo import shown

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
KEYS = ("video_id", "creator_id")  # written as given: they must join back

# where a spreadsheet may start a new cell inside a quoted one: a locale's ";" list
# separator, a tab or pipe, a line break (a quote that does not open a field is no quote)
_SEPARATORS = re.compile(r"([;\t\r\n|])")


def _starts_formula(text: str) -> bool:
    return text.startswith(FORMULA_LEADS) and not PLAIN_NUMBER.fullmatch(text)


def _formula(value: object) -> bool:
    """Whether a cell, or any part of it after a separator, starts like a formula."""
    if not isinstance(value, str):
        return False
    return _starts_formula(value) or any(
        _starts_formula(part) for part in _SEPARATORS.split(value)[2::2]
    )


def _neutral(value: object) -> object:
    """The cell with a ``'`` before each part that starts like a formula."""
    if not _formula(value):
        return value
    parts = _SEPARATORS.split(str(value))  # text, separator, text, separator, ...
    quoted = "".join(
        "'" + part if i % 2 == 0 and _starts_formula(part) else part for i, part in enumerate(parts)
    )
    return "'" + quoted if _starts_formula(quoted) else quoted  # a cell led by a tab or CR


def formula_like(values: pd.Series) -> pd.Series:
    """The values a spreadsheet would take for formulas, for a warning about kept keys."""
    return values[values.map(_formula).astype(bool)]


def formula_warning(count: int, what: str, example: str, where: str) -> str:
    """The one warning about kept keys that a spreadsheet would read as formulas."""
    return (
        f"warning: {count:,} {what} start like a spreadsheet formula (e.g. {shown(example)}), "
        f"written as given so that they join back; read {where} as text, not in a spreadsheet"
    )


def csv_safe(frame: pd.DataFrame, keys: tuple[str, ...] = KEYS) -> pd.DataFrame:
    """``frame`` with its formula-leading text cells quoted, except the ``keys`` columns
    (a copy only when one changes)."""
    out = frame
    for column in frame.columns:
        series = frame[column]
        if (
            column in keys
            or pd.api.types.is_numeric_dtype(series)
            or pd.api.types.is_datetime64_any_dtype(series)
        ):
            continue
        safe = series.map(_neutral)
        if not safe.equals(series):
            if out is frame:
                out = frame.copy()
            out[column] = safe
    return out


def write_csv(frame: pd.DataFrame, target: Path | IO[str], header: bool = True) -> None:
    """The one way likecast writes a CSV: formulas neutralised, every text cell quoted
    (numbers stay bare, so they read back as numbers)."""
    csv_safe(frame).to_csv(target, index=False, header=header, quoting=csv.QUOTE_NONNUMERIC)
