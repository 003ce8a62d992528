"""What an error may repeat back of the user's input."""

from __future__ import annotations

import pytest

from likecast.echo import MAX_SHOWN_CHARS, capped, shown


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "'abc'"),
        (12, "12"),
        (None, "None"),
    ],
)
def test_short_values_are_shown_whole(value: object, expected: str) -> None:
    # given a short value / when shown / then it reads as its repr
    assert shown(value) == expected


@pytest.mark.parametrize("value", ["x" * 1_000_000, b"y" * 500, list(range(100_000))])
def test_long_values_are_cut_and_their_length_said(value: object) -> None:
    # given a value far longer than a line
    # when it is shown
    text = shown(value)
    # then the text stays short and says how long the value was
    assert len(text) < MAX_SHOWN_CHARS + 40
    assert "characters)" in text


def test_capped_keeps_the_first_problems_and_counts_the_rest() -> None:
    # given 150 problems / when capped at 20 / then 20 stay and 130 are counted
    kept, more = capped(list(range(150)), 20)
    assert kept == list(range(20))
    assert more == 130
    # and fewer than the limit pass whole
    assert capped([1, 2], 20) == ([1, 2], 0)
