"""An ASGI middleware in front of the JSON APIs: only JSON bodies, and not too many bytes.

BentoML parses a body by its Content-Type before any of our code runs, and a malformed one
(multipart without a boundary, say) ends in a 500 there; a huge body costs memory before
validation can refuse it. Both are refused here with the right 4xx instead.
"""

from __future__ import annotations

import json

from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send


class JsonBodyLimit:
    """Refuses a body on ``json_routes`` that is not JSON (415) or over ``max_body_bytes`` (413).

    Args:
        app: the ASGI app behind it.
        json_routes: the paths whose bodies it checks; others pass untouched.
        max_body_bytes: the largest body accepted.
    """

    def __init__(self, app: ASGIApp, json_routes: frozenset[str], max_body_bytes: int) -> None:
        self.app = app
        self.json_routes = json_routes
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.json_routes:
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
        # The body is read and counted here, before the app runs: a BodyTooLargeError raised
        # from inside BentoML's receive came back as a 500. Within the limit, it is replayed.
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body_bytes:
                await _refuse(send, 413, "body", f"at most {self.max_body_bytes} bytes")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()  # e.g. http.disconnect
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


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
