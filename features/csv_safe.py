"""Neutralising spreadsheet formulas in the CSV files likecast writes (OWASP: CSV injection).

A caption or id such as ``=HYPERLINK("http://evil", "x")`` comes from whoever posted the
video; written verbatim into a CSV that someone opens in a spreadsheet, it runs as a formula.
Text cells that start with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return get a
leading single quote, which spreadsheets show as text. Numbers, and text that is a plain
number (``-1.5``), are left alone.
"""

from __future__ import annotations

import re

import pandas as pd

FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def _neutral(value: object) -> object:
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_LEADS)
        and not _PLAIN_NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with its formula-leading text cells quoted (a copy only when one changes)."""
    out = frame
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_datetime64_any_dtype(series):
            continue
        safe = series.map(_neutral)
        if not safe.equals(series):
            if out is frame:
                out = frame.copy()
            out[column] = safe
    return out
