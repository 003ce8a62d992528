"""The ASGI interface's types, and what the middlewares share: a body replayed, a refusal.

A refusal here has the service's one shape (serving/api/errors.py)."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def replay(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that gives ``message`` (a body read before) again, then what the
    client sends next (e.g. ``http.disconnect``)."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return message

    return again


def refusal(status: int, field: str, rule: str, kind: str) -> tuple[list, bytes]:
    """Headers and body of a refusal naming one field and its rule."""
    body = json.dumps({"error": rule, "detail": [{"loc": [field], "msg": rule, "type": kind}]})
    data = body.encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
    return headers, data


async def answer(send: Send, status: int, headers: list, body: bytes) -> None:
    """Send a whole answer: its start, then its one body."""
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
