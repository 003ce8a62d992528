"""Prometheus metrics for ``/metrics``: requests by route and status, latency by route, the
answers' probabilities by route and model version, the prediction log's lag and losses, and
the last monitor figures (``home/monitoring/last.json``).

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
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    values,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from features.monitoring_last import read_last
from serving.api.asgi import ASGIApp, Message, Receive, Scope, Send

if TYPE_CHECKING:
    from serving.core.answer_log import Entry, LogState

CONTENT_TYPE = CONTENT_TYPE_LATEST
# from a draft's milliseconds to a full batch's fraction of a second
BUCKETS = (0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0)
# the answers' probabilities: finer at the low end, where most drafts fall
PROBABILITY_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


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
        self._probability = Histogram(
            "likecast_answer_probability",
            "The probabilities answered, by route (draft, early, batch, whatif) and model "
            "version: their count, sum (mean = sum / count) and distribution.",
            ["route", "model_version"],
            buckets=PROBABILITY_BUCKETS,
            registry=self.registry,
        )
        self._log_lag = Gauge(
            "likecast_prediction_log_lag_seconds",
            "How long the oldest answer not yet in the prediction log had waited at the "
            "writer's last cycle (the largest of the workers'); 0 when none waited.",
            registry=self.registry,
            multiprocess_mode="livemax",
        )
        self._log_waiting = Gauge(
            "likecast_prediction_log_waiting",
            "Answers waiting for the prediction log's writer at its last cycle (all workers).",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self._log_dropped = Counter(
            "likecast_prediction_log_dropped",
            "Answers left out of the prediction log: its queue was full, or writing failed.",
            registry=self.registry,
        )
        self._log_written = Counter(
            "likecast_prediction_log_written",
            "Answers written to the prediction log.",
            registry=self.registry,
        )
        self._log_counted = (0, 0)  # dropped and written, as last counted

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

    def answered(self, entry: Entry) -> None:
        """Count the answers of one entry of the prediction log (in the log's thread)."""
        for route, probability in zip(entry.route, entry.probability, strict=True):
            self._probability.labels(route, entry.model_version).observe(probability)

    def cycled(self, state: LogState) -> None:
        """The prediction log's writer after a cycle: its lag, its queue, its counts."""
        self._log_lag.set(state.lag_s)
        self._log_waiting.set(state.waiting)
        dropped, written = self._log_counted
        self._log_dropped.inc(state.dropped - dropped)
        self._log_written.inc(state.written - written)
        self._log_counted = (state.dropped, state.written)

    def latest(self, home: Path | None = None) -> bytes:
        """This process's values, or every worker's added up when they share a folder; with
        ``home``, the last monitor figures found there."""
        registry = self.registry
        if self.shared_dir:
            registry = CollectorRegistry()
            MultiProcessCollector(registry, path=str(self.shared_dir))
        if home is None:
            return generate_latest(registry)
        figures = CollectorRegistry()
        figures.register(LastFigures(home))
        return generate_latest(registry) + generate_latest(figures)


class LastFigures(Collector):
    """Gauges of the last drift and estimate checks, read from ``home/monitoring/last.json``
    at each scrape (``features.monitoring_last``): none before a check has run."""

    def __init__(self, home: Path) -> None:
        self.home = home

    def collect(self) -> Iterator[GaugeMetricFamily]:
        labels = ["check", "model_version"]
        figure = GaugeMetricFamily(
            "likecast_monitor_figure",
            "A figure of the last monitor check (drift: distances; estimate: expected ROC "
            "AUC...), by check, model version and figure name.",
            labels=[*labels, "figure"],
        )
        alert = GaugeMetricFamily(
            "likecast_monitor_alert", "1 when the last check raised an alert.", labels=labels
        )
        checked = GaugeMetricFamily(
            "likecast_monitor_checked_timestamp_seconds",
            "When the last check ran (Unix time).",
            labels=labels,
        )
        answers = GaugeMetricFamily(
            "likecast_monitor_answers", "Logged answers the last check read.", labels=labels
        )
        last = read_last(self.home)
        for name, check in (("drift", last.drift), ("estimate", last.estimate)):
            if check is None:
                continue
            keys = [name, check.model_version]
            alert.add_metric(keys, float(check.alert))
            checked.add_metric(keys, check.checked_at.timestamp())
            answers.add_metric(keys, float(check.answers))
            for key, value in check.figures.items():
                figure.add_metric([*keys, key], float("nan") if value is None else value)
        yield from (figure, alert, checked, answers)


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
