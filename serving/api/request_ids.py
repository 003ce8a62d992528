"""Request ids: the caller's ``X-Request-ID`` (or one made for it) on every answer, and on
every line the prediction log writes for the request.

A caller's id is kept when it is 1 to 128 visible ASCII characters; anything else (empty,
too long, spaces, control or non-ASCII bytes that could forge log lines) is replaced by a
fresh uuid4 hex. The id is handed to the core through ``serving.core.answer_log.REQUEST_ID``.
"""

from __future__ import annotations

import re
import uuid

from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send
from serving.core.answer_log import REQUEST_ID

HEADER = b"x-request-id"
_VALID = re.compile(rb"[\x21-\x7e]{1,128}")


def accepted(given: bytes | None) -> str:
    """The caller's id if it is a valid one, else a new one."""
    if given is not None and _VALID.fullmatch(given):
        return given.decode("ascii")
    return uuid.uuid4().hex


class RequestIds:
    """Sets the request id for the app below and returns it in every answer's headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k.lower() == HEADER), None)
        name = accepted(given)
        header = (HEADER, name.encode("ascii"))

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() != HEADER]
                message = {**message, "headers": [*kept, header]}
            await send(message)

        token = REQUEST_ID.set(name)
        try:
            await self.app(scope, receive, with_id)
        finally:
            REQUEST_ID.reset(token)
