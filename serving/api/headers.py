"""The headers every answer carries, set in one pass: the request id and the security headers.

Request ids: the caller's ``X-Request-ID`` (or one made for it) goes back on every answer and
on every line the prediction log writes for the request. A caller's id is kept when it is 1
to 128 visible ASCII characters; anything else (empty, too long, spaces, control or
non-ASCII bytes that could forge log lines) is replaced by a fresh uuid4 hex. The id is
handed to the core through ``serving.core.answer_log.REQUEST_ID``.

Security headers: the creators' page and the API page are served to anyone; without them
another site could frame them (clickjacking), a browser could guess a JSON answer to be
HTML, and an injected script could load from anywhere. Both pages load only their own
files: scripts from this origin, no inline script; Swagger UI sets inline styles and draws
data: images.
"""

from __future__ import annotations

import re
import uuid

from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send
from serving.core.answer_log import REQUEST_ID

REQUEST_ID_HEADER = b"x-request-id"
_VALID = re.compile(rb"[\x21-\x7e]{1,128}")
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
)
# the headers this layer owns: any the app set are replaced
_OWNED = frozenset([REQUEST_ID_HEADER, *(name for name, _ in SECURITY_HEADERS)])


def accepted(given: bytes | None) -> str:
    """The caller's request id if it is a valid one, else a new one."""
    if given is not None and _VALID.fullmatch(given):
        return given.decode("ascii")
    return uuid.uuid4().hex


class AnswerHeaders:
    """Sets the request id for the app below; puts it and ``SECURITY_HEADERS`` on every
    HTTP answer, refusals included, replacing any the app set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next((v for k, v in scope["headers"] if k.lower() == REQUEST_ID_HEADER), None)
        name = accepted(given)
        added = ((REQUEST_ID_HEADER, name.encode("ascii")), *SECURITY_HEADERS)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in _OWNED]
                message = {**message, "headers": [*kept, *added]}
            await send(message)

        token = REQUEST_ID.set(name)
        try:
            await self.app(scope, receive, with_headers)
        finally:
            REQUEST_ID.reset(token)
