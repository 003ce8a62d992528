"""Keeping credentials out of what likecast prints: URIs may carry a user's password.

A tracking URI such as ``http://admin:secret@host/`` or ``postgresql://user:secret@db/mlflow``,
a Dask address such as ``tcp://user:secret@host:8786`` or a URI with ``?token=secret`` is
printed in errors and logs; the password and every query value must never be.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from rich.markup import escape

MASK = "***"
# scheme://user:password@ anywhere in a text (error messages may quote URIs they were given)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):(?P<secret>[^\s/@]*)@")
# the query string of a URI anywhere in a text: any of its values may be a token
_QUERY = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s?#'\"]*\?)(?P<query>[^\s#'\"]*)")


def redact(uri: str) -> str:
    """``uri`` with its password (if any) replaced by ``***``; the user name stays."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return redact_text(uri)
    if parts.password is None:
        return redact_text(uri)
    host = parts.netloc.rpartition("@")[2]
    user = parts.username or ""
    return redact_text(urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}")))


def redact_text(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` with the password masked, and every
    query value of a URI in it (``?token=***``)."""
    text = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    return _QUERY.sub(lambda m: m["head"] + _masked_query(m["query"]), text)


def _masked_query(query: str) -> str:
    """``a=1&token=s`` -> ``a=***&token=***``; a bare item (``?s3cret``) is masked whole."""
    if not query:
        return query
    items = re.split(r"([&;])", query)
    return "".join(
        item if item in "&;" else f"{item.partition('=')[0]}={MASK}" if "=" in item else MASK
        for item in items
    )


def without_userinfo(uri: str) -> tuple[str, tuple[str, str] | None]:
    """``uri`` without ``user:password@``, and the credentials it had (for an auth header)."""
    parts = urlsplit(uri)
    if parts.username is None:
        return uri, None
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=host)), (parts.username, parts.password or "")


def one_line(exc: BaseException) -> str:
    """An error as the CLI prints it: one line, no password, safe from rich's markup."""
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return escape(redact_text(text))
