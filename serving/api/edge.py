"""The service's edge toward hostile or slow clients: deadlines that free a slot, and shedding.

BentoML's own concurrency limit counts a request from its first byte of body, so 300 clients
sending one body byte every 4 s held every slot and the service answered 429 to everyone
else; its timeout answered them 504 only after 10 s; and uvicorn puts no deadline on a
request's headers at all, nor on how long a request waits for its worker (at 1,000
connections, 30 s). Here a body is read to a short deadline before the request is admitted;
a request that waited too long for its worker, or finds too many in progress, gets 503 with
``Retry-After`` at once, not a place in a queue that only grows; an admitted one gets its own
deadline (504); and a connection whose headers do not arrive in time is answered 408 and
closed (docs/adr/0003).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send, answer, refusal, replay

if TYPE_CHECKING:
    from asyncio import TimerHandle, Transport

# health checks and scrapes are never shed: an orchestrator would restart a busy service
UNSHED_PATHS = frozenset({"/livez", "/readyz", "/metrics"})
# the queue bound (max_queue_s) is under a second: by then the worker has drained it
RETRY_AFTER_S = 1
# uvicorn's h11 protocol allows 16 KiB; a browser sends at most a few
MAX_HEADER_BYTES = 64 * 1024
# the scope extension where ``HeaderDeadline`` stamps when a request had fully arrived
ARRIVED = "likecast.arrived"


class _TooLargeError(Exception):
    """A body past the limit, found while reading it."""


class Admission:
    """Reads a request's body to a deadline, sheds it if it then waited too long for the
    worker or too many requests are being answered, and answers it 504 if it outlives
    ``request_timeout_s``.

    A worker answers on one event loop: under load, requests wait for it with nothing of
    theirs running, and at 1,000 connections the last waited 30 s. A request that waited
    more than ``max_queue_s`` once it was all in (as ``HeaderDeadline`` stamps) is answered
    503 at once, which drains the queue; so are requests past ``max_in_flight``. Only an admitted
    request counts against it: a client that is slow to send its body waits outside, costs
    a socket and no slot, and is answered 408 (and disconnected) at the deadline.

    Args:
        app: the ASGI app behind it.
        body_timeout_s: the most a client may take to send its whole body.
        max_body_bytes: the largest body read (413 beyond, before reading the rest).
        max_in_flight: the most requests this worker answers at once; more get 503.
        max_queue_s: the most a request may wait to be started; longer, it gets 503.
        request_timeout_s: the most an admitted request may take before its answer starts.
    """

    def __init__(
        self,
        app: ASGIApp,
        body_timeout_s: float,
        max_body_bytes: int,
        max_in_flight: int,
        max_queue_s: float,
        request_timeout_s: float,
    ) -> None:
        self.app = app
        self.body_timeout_s = body_timeout_s
        self.max_body_bytes = max_body_bytes
        self.max_in_flight = max_in_flight
        self.max_queue_s = max_queue_s
        self.request_timeout_s = request_timeout_s
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        whole = await self._whole_body(scope, receive, send)
        if whole is None:  # refused, or the client went away
            return
        if scope["path"] in UNSHED_PATHS:
            await self.app(scope, whole, send)
            return
        busy = self._busy(scope)
        if busy is not None:
            await _shed(send, busy)
            return
        self.in_flight += 1
        try:
            await self._answered_in_time(scope, whole, send)
        finally:
            self.in_flight -= 1

    async def _whole_body(self, scope: Scope, receive: Receive, send: Send) -> Receive | None:
        """The request's body, read within ``body_timeout_s`` and replayed to the app; None
        when it was refused here (413, 408) or the client went away."""
        length = dict(scope["headers"]).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.max_body_bytes:
            await self._too_large(send)
            return None
        try:
            if ARRIVED in scope.get("extensions", {}):
                # all in (``HeaderDeadline`` stamps it): reading cannot wait for the client,
                # and a deadline's timer per request would cost for nothing
                body = await self._body(receive)
            else:
                async with asyncio.timeout(self.body_timeout_s):
                    body = await self._body(receive)
        except TimeoutError:
            rule = f"the body did not arrive within {self.body_timeout_s:g} s"
            headers, data = refusal(408, "body", rule, "timeout")
            # the rest of a slow body is not waited for: the connection closes after this
            await answer(send, 408, [*headers, (b"connection", b"close")], data)
            return None
        except _TooLargeError:
            await self._too_large(send)
            return None
        if body is None:  # the client went away
            return None
        return replay({"type": "http.request", "body": body}, receive)

    def _busy(self, scope: Scope) -> str | None:
        """Why this request is shed: it waited too long for a worker, or too many are in
        progress; None when it may go on."""
        arrived = scope.get("extensions", {}).get(ARRIVED, {}).get("at")
        waited = 0.0 if arrived is None else asyncio.get_running_loop().time() - arrived
        if waited > self.max_queue_s:
            return f"waited {waited:.1f} s for a free worker"
        if self.in_flight >= self.max_in_flight:
            return f"{self.in_flight} requests in progress"
        return None

    async def _body(self, receive: Receive) -> bytes | None:
        """The whole body; None when the client left.

        Raises:
            _TooLargeError: more than ``max_body_bytes`` arrived.
        """
        chunks: list[bytes] = []
        seen = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return None
            chunk = message.get("body", b"")
            seen += len(chunk)
            if seen > self.max_body_bytes:
                raise _TooLargeError
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, send: Send) -> None:
        headers, data = refusal(413, "body", f"at most {self.max_body_bytes} bytes", "too_large")
        await answer(send, 413, [*headers, (b"connection", b"close")], data)

    async def _answered_in_time(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The app's answer, or 504 if it has not started within ``request_timeout_s``.

        The app runs in this request's own task, which the deadline cancels: a task of its
        own would cost every request a task's creation and a turn of the event loop.
        """
        started = False
        timed_out = False
        task = asyncio.current_task()
        assert task is not None  # an ASGI app always runs in a task

        async def started_send(message: Message) -> None:
            nonlocal started
            started = True
            await send(message)

        def expire() -> None:
            nonlocal timed_out
            if not started:
                timed_out = True
                task.cancel()

        # cancelled as soon as the answer is sent: no timer outlives its request
        timer = asyncio.get_running_loop().call_later(self.request_timeout_s, expire)
        try:
            await self.app(scope, receive, started_send)
        except asyncio.CancelledError:
            if not timed_out:
                raise
            task.uncancel()  # the deadline's own cancel, answered here: the task goes on
            rule = f"not answered within {self.request_timeout_s:g} s"
            headers, data = refusal(504, "request", rule, "timeout")
            await answer(send, 504, headers, data)
        finally:
            timer.cancel()


async def _shed(send: Send, why: str) -> None:
    """503 with ``Retry-After``: the worker is busy, the request itself was fine."""
    rule = f"busy: {why}; retry after {RETRY_AFTER_S} s"
    headers, data = refusal(503, "request", rule, "overloaded")
    await answer(send, 503, [*headers, (b"retry-after", str(RETRY_AFTER_S).encode())], data)


class HeaderDeadline(HttpToolsProtocol):
    """uvicorn's HTTP protocol (httptools) with a deadline and a size bound on each
    request's headers, and the time the whole request was in, in its scope (``ARRIVED``).

    A timer starts when the connection opens or a request's first byte arrives, and stops
    when its headers are complete; at the deadline the client is answered 408 and
    disconnected. uvicorn itself times only the idle wait between two requests, and that
    timer stops at the first byte; and httptools buffers headers of any size
    (docs/facts.md): past ``MAX_HEADER_BYTES`` the client is answered 431 and disconnected.
    """

    header_timeout_s = 5.0  # set by ``use_header_deadline``
    # what counts a refusal in /metrics (path, status, seconds): the ASGI app never sees one
    refused: ClassVar[Callable[[str, int, float], None] | None] = None
    _header_timer: TimerHandle | None = None
    _header_bytes = 0
    _header_started = 0.0

    def connection_made(self, transport: Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_timer()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        # counted once parsed: a first chunk that ends the headers never counts, however
        # much body it carries; only chunks that leave the headers unfinished do
        if self._header_timer is not None and not self.transport.is_closing():
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._stop_header_timer()
                rule = f"request line and headers of at most {MAX_HEADER_BYTES} bytes"
                self._refuse(b"431 Request Header Fields Too Large", rule, "too_large")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:
            self._start_header_timer()

    def on_headers_complete(self) -> None:
        self._stop_header_timer()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        # from here the request waits only for the worker: ``Admission`` sheds it if late
        self.scope.setdefault("extensions", {})[ARRIVED] = {"at": self.loop.time()}
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_timer()
        super().connection_lost(exc)

    def _start_header_timer(self) -> None:
        self._header_bytes = 0
        self._header_started = self.loop.time()
        self._header_timer = self.loop.call_later(self.header_timeout_s, self._headers_late)

    def _stop_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_late(self) -> None:
        self._header_timer = None
        if self.transport.is_closing():
            return
        if self.cycle is not None and not self.cycle.response_complete:
            # a request before this one is still being answered: close after its answer
            self.cycle.keep_alive = False
            return
        rule = f"the request headers did not arrive within {self.header_timeout_s:g} s"
        self._refuse(b"408 Request Timeout", rule, "timeout")

    def _refuse(self, status_line: bytes, rule: str, kind: str) -> None:
        """Answer ``status_line`` in the service's one shape (unless an answer to an earlier
        request is still being sent), and close the connection."""
        if self.cycle is None or self.cycle.response_complete:
            status = int(status_line.split(b" ", 1)[0])
            headers, data = refusal(status, "headers", rule, kind)
            lines = [b"HTTP/1.1 " + status_line] + [b"%s: %s" % pair for pair in headers]
            self.transport.write(b"\r\n".join([*lines, b"connection: close", b"", data]))
            refused = type(self).refused  # from the class: a plain function stays unbound
            if refused is not None:
                # the headers are unfinished, so the path is unknown: counted as "other"
                refused("", status, self.loop.time() - self._header_started)
        self.transport.close()


def use_header_deadline(
    seconds: float, refused: Callable[[str, int, float], None] | None = None
) -> None:
    """Make uvicorn's default ("auto") HTTP protocol ``HeaderDeadline`` with ``seconds``,
    its refusals counted by ``refused`` (path, status, seconds).

    BentoML builds the worker's ``uvicorn.Config`` itself and passes no ``http`` option;
    uvicorn resolves "auto" through its ``HTTP_PROTOCOLS`` table when the server starts,
    after the service module (which calls this) is imported.
    """
    from uvicorn import config

    HeaderDeadline.header_timeout_s = seconds
    HeaderDeadline.refused = refused
    config.HTTP_PROTOCOLS["auto"] = f"{__name__}:{HeaderDeadline.__name__}"
