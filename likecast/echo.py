"""How much of what a user sent an error may repeat back: a few problems, short values.

An error that echoes every bad field in full costs as much as the input, or more: 150,000
unknown keys became a 19 MB answer, and a 1 MB value in a params file was quoted whole.
Every refusal (HTTP answers, CLI lines, file validation) goes through these two functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

# enough to recognise a value, short enough to keep a line a line
MAX_SHOWN_CHARS = 80
# enough to fix a request by; the count of the rest is said
MAX_PROBLEMS = 20

T = TypeVar("T")


def shown(value: object, limit: int = MAX_SHOWN_CHARS) -> str:
    """``repr(value)``, cut to ``limit`` characters with how long it was; text is cut
    before it is quoted, so a huge string costs no more to show than a short one."""
    if isinstance(value, str | bytes) and len(value) > limit:
        return f"{value[:limit]!r}… ({len(value):,} characters)"
    text = repr(value)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text):,} characters)"


def capped(problems: Sequence[T], limit: int = MAX_PROBLEMS) -> tuple[list[T], int]:
    """The first ``limit`` problems, and how many more were left out."""
    return list(problems[:limit]), max(0, len(problems) - limit)
