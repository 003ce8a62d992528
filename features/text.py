"""Counting text: characters and tokens of captions and hashtags, and category codes.

Text is counted by Arrow (native, no Python per row) except for the few rows of a request,
where one Arrow call costs more than a Python loop, and a single text (one served row,
``features.matrix``), counted as a plain value. Both use the same token pattern, spelled
out so that Python's and Arrow's regex engines agree on "whitespace".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.arrays import LOOP_BEATS_VECTOR_BELOW

TOKEN = r"[^ \t\n\r\f\v,]+"
_TOKEN_RE = re.compile(TOKEN)


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _arrow_text(values: Any) -> pa.Array:
    if hasattr(values, "__arrow_array__"):  # pandas' Arrow strings: hand over the buffers
        text = pa.array(values)
        return text.combine_chunks() if isinstance(text, pa.ChunkedArray) else text
    # from_pandas: NaN in an object column is missing text, not a number
    return pa.array(np.asarray(values, dtype=object), type=pa.string(), from_pandas=True)


def _floats(counts: pa.Array) -> np.ndarray:
    return counts.cast(pa.float64()).to_numpy(zero_copy_only=False)  # null -> NaN


def _per_category(count: Callable[[Any], np.ndarray], values: pd.Categorical) -> np.ndarray:
    """A text count of each distinct text once, spread to the rows by their codes."""
    per_text = count(values.categories.to_numpy(dtype=object))
    return np.append(per_text, np.nan)[values.codes]  # code -1 (missing) takes the NaN


def _one(values: Any) -> bool:
    """A single text (or a missing one: None, NaN, pd.NA), not a column of them."""
    return isinstance(values, str) or not hasattr(values, "__len__")


def token_count(values: Any) -> Any:
    """Space- or comma-separated tokens (hashtags); missing text gives NaN. A single text
    gives a float."""
    if _one(values):
        return np.nan if _missing(values) else float(len(_TOKEN_RE.findall(values)))
    if isinstance(values, pd.Categorical):
        return _per_category(token_count, values)
    if len(values) < LOOP_BEATS_VECTOR_BELOW:
        counts = [np.nan if _missing(v) else len(_TOKEN_RE.findall(v)) for v in values]
        return np.array(counts, dtype="float64")
    return _floats(pc.count_substring_regex(_arrow_text(values), pattern=TOKEN))


def char_count(values: Any) -> Any:
    """Characters of each text; missing text gives NaN. A single text gives a float."""
    if _one(values):
        return np.nan if _missing(values) else float(len(values))
    if isinstance(values, pd.Categorical):
        return _per_category(char_count, values)
    if len(values) < LOOP_BEATS_VECTOR_BELOW:
        return np.array([np.nan if _missing(v) else len(v) for v in values], dtype="float64")
    return _floats(pc.utf8_length(_arrow_text(values)))


def category_codes(values: Any, lookup: dict[str, float], categories: tuple[str, ...]) -> Any:
    """Codes in the training category list as float; unseen or missing -> NaN, no error. A
    single category gives a float."""
    if _one(values):
        return np.nan if _missing(values) else lookup.get(values, np.nan)
    if isinstance(values, pd.Categorical):
        known = np.array([lookup.get(str(c), np.nan) for c in values.categories] + [np.nan])
        return known[values.codes]  # code -1 (missing) takes the trailing NaN
    if len(values) < LOOP_BEATS_VECTOR_BELOW:  # a dict lookup beats building a hash table
        return np.array([lookup.get(v, np.nan) for v in values], dtype="float64")
    # pandas-stubs ask get_indexer for an Index; pandas takes any array-like
    texts = np.asarray(values, dtype=object)
    codes = pd.Index(list(categories)).get_indexer(texts)  # type: ignore[arg-type]
    return np.where(codes >= 0, codes, np.nan)
