"""The answer's language, from the request's ``Accept-Language`` header."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import bentoml

    # for the type only: `bentoml serve`'s supervisor imports this module, and the catalogue
    # would bring numpy and pandera into it for nothing
    from features.catalog import Language

# the Content-Language of an answer in each language
CONTENT_LANGUAGE: dict[Language, str] = {"en": "en", "zh": "zh-CN"}


def requested_language(header: str | None) -> Language:
    """``zh`` when a Chinese tag (zh, zh-CN, zh-Hans, zh-TW...) ranks above English, else
    ``en``: the default, also for a missing or unreadable header.

    Ranks follow the q-values (RFC 9110, 12.5.4); at equal q the earlier tag wins, as
    browsers list languages in order of preference. A ``*`` counts as English, q=0 as
    refused.
    """
    best: dict[Language, tuple[float, int]] = {}
    for position, item in enumerate((header or "").split(",")):
        tag, _, params = item.partition(";")
        tag = tag.strip().lower()
        q = _quality(params)
        if q is None or q <= 0:
            continue
        language: Language | None = (
            "zh" if tag == "zh" or tag.startswith("zh-") else "en" if _english(tag) else None
        )
        if language is not None:
            best[language] = max(best.get(language, (0.0, 0)), (q, -position))
    if "zh" in best and ("en" not in best or best["zh"] > best["en"]):
        return "zh"
    return "en"


def answer_language(ctx: bentoml.Context) -> Language:
    """The language a JSON API call asks for; its answer says which it is in
    ``Content-Language``."""
    language = requested_language(ctx.request.headers.get("accept-language"))
    ctx.response.headers["Content-Language"] = CONTENT_LANGUAGE[language]
    return language


def _english(tag: str) -> bool:
    return tag in ("en", "*") or tag.startswith("en-")


def _quality(params: str) -> float | None:
    """The q-value of one entry's parameters: 1 when absent, None when unreadable."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                q = float(value.strip())
            except ValueError:
                return None
            return q if 0 <= q <= 1 else None
    return 1.0
