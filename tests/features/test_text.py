"""Text counts: the Python path for a request's few rows equals the Arrow path."""

from __future__ import annotations

import numpy as np
import pytest

from features.text import char_count, token_count

TEXTS = [
    "#food #recipe",
    "#a,#b,,#c",
    "  spaced\tout\nlines  ",
    "全角\u3000空格",  # an ideographic space is part of a token for both engines
    "",
    None,
]


@pytest.mark.parametrize("repeat", [1, 20])  # 6 rows: the Python path; 120: the Arrow path
def test_text_counts_agree_between_few_rows_and_many(repeat: int) -> None:
    values = np.array(TEXTS * repeat, dtype=object)
    tokens, chars = token_count(values)[: len(TEXTS)], char_count(values)[: len(TEXTS)]
    np.testing.assert_array_equal(tokens, [2, 3, 3, 1, 0, np.nan])
    np.testing.assert_array_equal(chars, [13, 9, 20, 5, 0, np.nan])
