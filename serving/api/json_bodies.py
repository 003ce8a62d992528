"""ASGI middlewares in front of the JSON APIs: JSON bodies only, within a size, no unknown keys.

BentoML parses a body by its Content-Type before any of our code runs, and a malformed one
(multipart without a boundary, say) ends in a 500 there; a huge body costs memory before
validation can refuse it; unknown keys cost pydantic an error each. All are refused here
with the right 4xx instead.
"""

from __future__ import annotations

import json

from pydantic import BaseModel
from pydantic_core import from_json

from likecast.echo import MAX_PROBLEMS
from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send
from serving.api.errors import more_problems, problem, summary
from serving.api.schemas import unknown_fields


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


class KnownFields:
    """Refuses (400) a JSON body on a route of ``models`` with keys its model does not
    declare, listing the first few (``likecast.echo.capped``) and counting the rest.

    BentoML validates a body before any of our code runs, and pydantic reports each unknown
    key with its value: 150,000 of them took 6 s of the worker's loop and made a 19 MB
    answer. Counted here first, they cost a set lookup each.

    Args:
        app: the ASGI app behind it.
        models: each JSON route's request model.
    """

    def __init__(self, app: ASGIApp, models: dict[str, type[BaseModel]]) -> None:
        self.app = app
        self.models = models

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        model = self.models.get(scope["path"]) if scope["type"] == "http" else None
        if model is None:
            await self.app(scope, receive, send)
            return
        message = await receive()
        if message["type"] != "http.request" or message.get("more_body", False):
            # not a body read whole before (Admission reads it): passed on as it came
            await self.app(scope, _first(message, receive), send)
            return
        try:
            # pydantic's parser (Rust) without its string cache: half json.loads's time on
            # a 1.7 MB body of 150,000 keys
            data = from_json(message.get("body", b""), cache_strings=False)
        except ValueError:  # not JSON: BentoML says where it breaks
            data = None
        kept, count = unknown_fields(model, data, MAX_PROBLEMS)
        if not count:
            await self.app(scope, _first(message, receive), send)
            return
        detail = [problem(loc, "Extra inputs are not permitted", "extra_forbidden") for loc in kept]
        detail += more_problems(count - len(kept))
        body = json.dumps({"error": summary(detail), "detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _first(message: Message, receive: Receive) -> Receive:
    """A ``receive`` that gives ``message`` again, then what the client sends next."""
    given = False

    async def again() -> Message:
        nonlocal given
        if given:
            return await receive()
        given = True
        return message

    return again
