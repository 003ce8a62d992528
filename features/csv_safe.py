"""Neutralising spreadsheet formulas in the CSV files likecast writes (OWASP: CSV injection).

A caption such as ``=HYPERLINK("http://evil", "x")`` comes from whoever posted the video;
written verbatim into a CSV that someone opens in a spreadsheet, it runs as a formula. Text
cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a leading
single quote, which spreadsheets show as text. Numbers, and text that is a plain number
(``-1.5``), are left alone.

Keys are the exception: ``video_id`` and ``creator_id`` are written exactly as given, since a
rewritten id no longer joins back to the user's tables (64 of youtube_in's 16,303 ids start
with ``-``, e.g. ``-0N9r10xb_0``), and a score that cannot be joined is lost. Whoever writes
them warns about the formula-looking ones instead (``formula_like``).
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
KEYS = ("video_id", "creator_id")  # written as given: they must join back
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _formula(value: object) -> bool:
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_LEADS)
        and not _PLAIN_NUMBER.fullmatch(value)
    )


def _neutral(value: object) -> object:
    return "'" + value if isinstance(value, str) and _formula(value) else value


def formula_like(values: pd.Series) -> pd.Series:
    """The values a spreadsheet would take for formulas, for a warning about kept keys."""
    return values[values.map(_formula).astype(bool)]


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
