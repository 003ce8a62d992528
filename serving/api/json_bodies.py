"""One ASGI layer in front of the JSON APIs: no unknown keys, and JSON bodies only.

BentoML parses a body by its Content-Type before any of our code runs, and a malformed one
(multipart without a boundary, say) ends in a 500 there, and unknown keys cost pydantic an
error each. Both are refused here with the right 4xx instead. A body's size and deadline are
checked before, at the edge (serving/api/edge.py).
"""

from __future__ import annotations

import json

from pydantic import BaseModel
from pydantic_core import from_json

from likecast.echo import MAX_PROBLEMS
from serving.api.asgi import ASGIApp, Receive, Scope, Send, answer, replay
from serving.core.problems import Problem, more_problems, problem, summary
from serving.core.requests import unknown_fields


class JsonBodies:
    """Refuses, on a route of ``models``, a JSON body with keys its model does not declare
    (400, listing the first few, ``likecast.echo.capped``, and counting the rest), then a
    body that is not JSON (415); other routes pass untouched.

    BentoML validates a body before any of our code runs, and pydantic reports each unknown
    key with its value: 150,000 of them took 6 s of the worker's loop and made a 19 MB
    answer. Counted here first, they cost a set lookup each. A body's size and the time it
    may take to arrive are ``serving.api.edge.Admission``'s, which has read it whole before
    this runs. Both refusals are written in the service's one shape (serving/api/errors.py),
    so this layer sits outside ``PlainErrors``: one pass per request for both checks.

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
        if message["type"] == "http.request" and not message.get("more_body", False):
            try:
                # pydantic's parser (Rust) without its string cache: half json.loads's time
                # on a 1.7 MB body of 150,000 keys
                data = from_json(message.get("body", b""), cache_strings=False)
            except ValueError:  # not JSON: BentoML says where it breaks
                data = None
            kept, count = unknown_fields(model, data, MAX_PROBLEMS)
            if count:
                detail = [
                    problem(loc, "Extra inputs are not permitted", "extra_forbidden")
                    for loc in kept
                ]
                await _refuse(send, 400, detail + more_problems(count - len(kept)))
                return
        # else: not a body read whole before (Admission reads it): passed on as it came
        given = dict(scope["headers"]).get(b"content-type", b"application/json")
        media = given.decode("latin-1").split(";")[0].strip().lower()
        if media != "application/json":
            rule = f"expected application/json, got {media!r}"
            await _refuse(send, 415, [problem(["content-type"], rule, "value_error")])
            return
        await self.app(scope, replay(message, receive), send)


async def _refuse(send: Send, status: int, detail: list[Problem]) -> None:
    """A refusal in the service's one shape: a one-line summary and its problems."""
    body = json.dumps({"error": summary(detail), "detail": detail}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await answer(send, status, headers, body)
