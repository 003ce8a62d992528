"""A refusal's problems in one shape: the field, the rule, its kind.

The core says why it cannot answer an item this way (a batch item's own errors), and the
HTTP layer rewrites every 4xx body into the same shape (``serving.api.errors``).
"""

from __future__ import annotations

import re
from typing import Any

from likecast.echo import MAX_SHOWN_CHARS, shown

# a rule is a sentence; a longer one quotes what was sent
MAX_RULE_CHARS = 300

# "earlier[0].age_minutes: must be < ..." -> the field's path, then the rule
_FIELD_FIRST = re.compile(r"^(?P<field>[A-Za-z_]\w*(?:\[\d+\])?(?:\.[A-Za-z_]\w*)*): (?P<rule>.+)$")
# pydantic prefixes what a validator raised with the error's kind
_KIND_PREFIX = re.compile(r"^(Value error|Assertion failed), ")

Problem = dict[str, Any]  # {"loc": [...], "msg": "...", "type": "..."}


def _loc(path: str) -> list[str | int]:
    """``earlier[0].likes`` -> ``["earlier", 0, "likes"]``, the shape of pydantic's ``loc``."""
    parts: list[str | int] = []
    for name, index in re.findall(r"([A-Za-z_]\w*)|\[(\d+)\]", path):
        parts.append(name if name else int(index))
    return parts


def problem(loc: list[Any], msg: str, kind: str = "value_error") -> Problem:
    """One problem as every refusal shows it: the field, the rule, its kind.

    A rule raised by a model-level check names its field at its start ("posted_at: required
    with observed_at"); that field becomes the ``loc``, as if pydantic had found it.
    """
    msg = _KIND_PREFIX.sub("", str(msg)).strip()
    found = _FIELD_FIRST.match(msg)
    if found and not loc:
        loc, msg = _loc(found["field"]), found["rule"]
    elif kind == "json_invalid" and not loc:
        loc = ["body"]
    if len(msg) > MAX_RULE_CHARS:
        msg = shown(msg, MAX_RULE_CHARS)
    # a key a client made up is echoed too: it may be a megabyte long
    where = [shown(p) if isinstance(p, str) and len(p) > MAX_SHOWN_CHARS else p for p in loc]
    return {"loc": where, "msg": msg, "type": kind}


def more_problems(more: int) -> list[Problem]:
    """The entry that ends a capped list of problems (``likecast.echo.capped``): how many
    were left out; none if none were."""
    if not more:
        return []
    return [{"loc": [], "msg": f"and {more:,} more problems", "type": "more_problems"}]


def _where(loc: list[Any]) -> str:
    text = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in loc)
    return text.replace(".[", "[")


def summary(detail: list[Problem]) -> str:
    """The problems in one line: ``creator_id: ...; duration_s: ...``."""
    return "; ".join(f"{_where(d['loc'])}: {d['msg']}" if d["loc"] else d["msg"] for d in detail)
