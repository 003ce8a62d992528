"""The answer's language from Accept-Language: Chinese when a zh tag outranks English."""

from __future__ import annotations

import pytest

from serving.api.language import requested_language


@pytest.mark.parametrize(
    ("header", "language"),
    [
        # missing, empty or junk: English, the default
        (None, "en"),
        ("", "en"),
        (";;;,,,", "en"),
        ("klingon-xx, ???", "en"),
        ("zh;q=abc", "en"),
        ("zh;q=2", "en"),
        # any Chinese tag, in any case
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh-Hans-CN", "zh"),
        ("ZH-tw", "zh"),
        # browsers' own headers: Chinese first, English later
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("zh-CN,zh;q=0.8,en-US;q=0.5,en;q=0.3", "zh"),
        ("en-US,en;q=0.9,zh-CN;q=0.8", "en"),
        # q-values rank, not the order
        ("en;q=0.5, zh-CN;q=0.9", "zh"),
        ("zh-CN;q=0.4, en-GB", "en"),
        # at equal q the earlier tag wins
        ("en, zh", "en"),
        ("zh, en", "zh"),
        # q=0 refuses a language; * stands for English
        ("zh;q=0, en;q=0.1", "en"),
        ("zh;q=0", "en"),
        ("*, zh;q=0.5", "en"),
        ("fr, zh;q=0.5", "zh"),
        ("de-DE, zh-TW;q=0.7, en;q=0.6", "zh"),
    ],
)
def test_the_language_asked_for(header: str | None, language: str) -> None:
    assert requested_language(header) == language
