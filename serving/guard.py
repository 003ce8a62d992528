"""An ASGI guard in front of the JSON APIs: only JSON bodies, and not too many bytes of them.

BentoML parses a body by its Content-Type before any of our code runs, and a malformed one
(multipart without a boundary, say) ends in a 500 there; a huge body costs memory before
validation can refuse it. Both are refused here with the right 4xx instead.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

JSON_ROUTES = ("/predict_draft", "/predict_early", "/predict_batch", "/whatif")


class BodyTooLargeError(Exception):
    pass


class JsonBodyGuard:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in JSON_ROUTES:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media = headers.get("content-type", "application/json").split(";")[0].strip().lower()
        if media != "application/json":
            await _refuse(send, 415, "content-type", f"expected application/json, got {media!r}")
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await _refuse(send, 413, "body", f"at most {self.max_body_bytes} bytes")
            return
        seen = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.max_body_bytes:
                raise BodyTooLargeError
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLargeError:
            if not started:
                await _refuse(send, 413, "body", f"at most {self.max_body_bytes} bytes")


async def _refuse(send: Send, status: int, field: str, rule: str) -> None:
    body = json.dumps({"error": rule, "detail": [{"loc": [field], "msg": rule}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
