"""Refusals in likecast's words: a 4xx body that names the field and the rule, logged in one line.

BentoML validates a request before any of our code runs and answers a bad one itself: its
body names pydantic's model class ("2 validation error for DraftIODescriptor") and links to
pydantic's site, and it logs every refusal at ERROR with a full traceback. A 4xx is the
caller's mistake, not the service's: the body is rewritten here into one shape for every
refusal, and the log line is one line at INFO.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from likecast.echo import capped
from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send
from serving.core.problems import more_problems, problem, summary


def plain_body(body: Any) -> dict[str, Any]:
    """Any 4xx body BentoML or likecast wrote -> ``{"error": one line, "detail": [problem]}``."""
    if isinstance(body, list) and body and isinstance(body[0], dict):
        body = body[0]  # BentoML wraps an exception's message in a one-item list
    if not isinstance(body, dict):
        return {"error": str(body), "detail": [problem([], str(body))]}
    items = body.get("detail")
    if isinstance(items, list) and all(isinstance(i, dict) for i in items):
        kept, more = capped(items)
        detail = [
            problem(i.get("loc") or [], i.get("msg", ""), i.get("type", "value_error"))
            for i in kept
        ] + more_problems(more)
    else:
        detail = [problem([], str(body.get("error") or items or "invalid request"))]
    return {"error": summary(detail), "detail": detail}


class PlainErrors:
    """Rewrites the 4xx JSON bodies of ``json_routes`` with ``plain_body``; the rest passes.

    Args:
        app: the ASGI app behind it.
        json_routes: the paths whose refusals it rewrites.
    """

    def __init__(self, app: ASGIApp, json_routes: frozenset[str]) -> None:
        self.app = app
        self.json_routes = json_routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.json_routes:
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                if 400 <= message["status"] < 500:
                    start = message  # held back until the whole body is here
                    return
            elif start is not None and message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                await _send_plain(send, start, b"".join(chunks))
                return
            await send(message)

        await self.app(scope, receive, rewrite)


async def _send_plain(send: Send, start: Message, raw: bytes) -> None:
    try:
        body = plain_body(json.loads(raw))
    except ValueError:  # not JSON: said as it was
        body = plain_body(raw.decode("utf-8", "replace"))
    data = json.dumps(body).encode()
    headers = [
        (k, v)
        for k, v in start.get("headers", [])
        if k.lower() not in (b"content-length", b"content-type")
    ]
    headers += [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(data)).encode()),
    ]
    await send({**start, "headers": headers})
    await send({"type": "http.response.body", "body": data})


class RefusalsAtInfo(logging.Filter):
    """BentoML's "Exception on /path [POST]" records of a refused request -> one INFO line.

    A 5xx keeps its level and traceback: that one is ours to fix.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        reason = _refusal(record.exc_info[1] if record.exc_info else None)
        if reason is None:
            return True
        record.levelno, record.levelname = logging.INFO, "INFO"
        record.msg = "refused %s [%s]: %s"
        where = tuple(record.args) if isinstance(record.args, tuple) else ("?", "?")
        record.args = (*where[:2], reason)
        record.exc_info, record.exc_text = None, None
        return True


def _refusal(exc: BaseException | None) -> str | None:
    """The one-line reason of a refused request's exception; None for anything else."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        return summary([problem(list(e["loc"]), e["msg"], e["type"]) for e in errors])
    if isinstance(exc, BentoMLException) and exc.error_code < 500:
        return summary([problem([], str(exc))]).replace("\n", " ")
    return None


def log_refusals_at_info() -> None:
    """Install ``RefusalsAtInfo`` on the logger BentoML reports request exceptions to."""
    logging.getLogger("bentoml._internal.server.http_app").addFilter(RefusalsAtInfo())
