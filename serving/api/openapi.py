"""The OpenAPI document at ``/docs.json``: BentoML's routes and schemas, likecast's own words.

BentoML writes the document's ``info`` from a built Bento: served from source, its version
is the string "None" and its description BentoML's own boilerplate with links to its Slack.
The paths and schemas it derives from the service are right, so only ``info`` is replaced.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.metadata import version
from typing import Any

from serving.api.asgi import ASGIApp, Receive, Scope, Send

PATH = "/docs.json"
DESCRIPTION = """\
likecast predicts the probability that a short video reaches a like threshold (1000 by
default) within its horizon (7 days by default): before posting, from the draft and the
creator's history (`/predict_draft`), and after posting, from its engagement so far
(`/predict_early`). `/whatif` tries the draft at other posting hours and lengths, and
recommends a change only when its gain beats the answer's uncertainty.

Every answer carries an 80% interval, how reliable answers at the video's age were in the
model's own test, how often videos of its category and the creator's recent videos reached
the threshold (`context`), for a posted video the like speed its counts show (`growth`),
and, with `explain: true`, the factors that moved it most. Texts come in
English or Simplified Chinese, as the request's `Accept-Language` asks.

A refused request gets a 4xx whose body is `{"error": one line, "detail": [{"loc": the
field, "msg": the rule, "type": its kind}]}`. `/model` describes the served model; the
creators' page is at `/ui`.
"""


@cache
def document(service: Any) -> bytes:
    """``service``'s OpenAPI document as JSON, with likecast's title, version and description."""
    spec = service.openapi_spec.asdict()
    spec["info"] = {"title": "likecast", "version": version("likecast"), "description": DESCRIPTION}
    for tag in spec.get("tags", []):
        if tag.get("name") == "Service APIs":
            tag["description"] = "likecast's predictions: drafts, early videos, batches, what-if."
    return json.dumps(spec).encode()


class OpenApiDocument:
    """Answers ``GET /docs.json`` with ``document(service)``; everything else passes."""

    def __init__(self, app: ASGIApp, service: Any) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != PATH or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        body = document(self.service)
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})
