"""Prometheus metrics for ``/metrics``: requests by route and status, latency by route.

The service's own middleware instead of BentoML's, which costs far more per request
(docs/adr/0019): one labelled child per route and status,
found in a dict, one histogram observation.

Each BentoML worker is a process with its own counters, and a scrape reaches whichever worker
accepts it; so the workers write their values to files in the service's folder
(``<LIKECAST_SERVICE_DIR>/metrics``, made empty by ``likecast serve``) and a scrape adds up
all of them (prometheus_client's multi-process mode).
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.multiprocess import MultiProcessCollector

from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = CONTENT_TYPE_LATEST
# from a draft's milliseconds to a full batch's fraction of a second
BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)


class ServiceMetrics:
    """The service's own registry; paths outside ``routes`` are counted as "other".

    Args:
        routes: the paths counted under their own label.
        shared_dir: the folder where all workers keep their values, or None for this
            process's values alone.
    """

    def __init__(self, routes: frozenset[str], shared_dir: Path | None = None) -> None:
        self.routes = routes
        self.registry = CollectorRegistry()
        self.shared_dir = shared_dir
        if shared_dir:
            # BentoML points PROMETHEUS_MULTIPROC_DIR at a folder all services of this user
            # share (and each one empties at start); the values go to this service's instead.
            # It is read when the first value is created, i.e. on the first request.
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(shared_dir)
            if values.ValueClass is values.MutexValue:  # chosen at import, without the folder
                values.ValueClass = values.MultiProcessValue()
        self._requests = Counter(
            "likecast_requests",
            "HTTP requests answered, by route and status code.",
            ["route", "status"],
            registry=self.registry,
        )
        self._seconds = Histogram(
            "likecast_request_seconds",
            "Time from request to the last byte of the answer, by route.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, int], tuple[Any, Any]] = {}

    def observe(self, path: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        route = path if path in self.routes else "other"
        children = self._children.get((route, status))
        if children is None:
            children = (
                self._requests.labels(route, str(status)),
                self._seconds.labels(route),
            )
            self._children[(route, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def latest(self) -> bytes:
        """This process's values, or every worker's added up when they share a folder."""
        if not self.shared_dir:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=str(self.shared_dir))
        return generate_latest(registry)


class RequestMetrics:
    """ASGI middleware that times each HTTP request and records it in ``metrics``."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status: int | None = None

        async def recorded_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        # Without an answer started, the status is what the client gets instead: uvicorn's
        # 500 for an error; BentoML's 504 when its timeout (the backstop behind
        # serving/api/edge.py's) cancels the request; none when the client left before an
        # answer, counted as 499 as nginx logs it.
        unanswered = 499
        try:
            await self.app(scope, receive, recorded_send)
        except asyncio.CancelledError:
            unanswered = 504
            raise
        except BaseException:
            unanswered = 500
            raise
        finally:
            sent = unanswered if status is None else status
            self.metrics.observe(scope["path"], sent, time.perf_counter() - started)
