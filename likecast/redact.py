"""Keeping credentials out of what likecast prints: URIs may carry a user's password.

A tracking URI such as ``http://admin:secret@host/`` or ``postgresql://user:secret@db/mlflow``
is printed in errors and logs; the password must never be.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

from rich.markup import escape

MASK = "***"
# scheme://user:password@ anywhere in a text (error messages may quote URIs they were given)
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@]*):(?P<secret>[^\s/@]*)@")


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
    return urlunsplit(parts._replace(netloc=f"{user}:{MASK}@{host}"))


def redact_text(text: str) -> str:
    """Every ``scheme://user:password@`` in ``text`` with the password masked."""
    return _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)


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
