"""The service's own metrics: requests counted by route and status, unknown paths as "other"."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from features.monitoring_last import CheckFigures, write_last
from serving.api.metrics import ServiceMetrics
from serving.core.answer_log import AnswerLog
from tests.serving.test_answer_log import entry


def counts(metrics: ServiceMetrics) -> dict[tuple[str, str], float]:
    families = text_string_to_metric_families(metrics.latest().decode())
    return {
        (s.labels["route"], s.labels["status"]): s.value
        for family in families
        if family.name == "likecast_requests"
        for s in family.samples
        if s.name == "likecast_requests_total"
    }


def test_requests_are_counted_by_route_and_status() -> None:
    # given metrics for two routes
    metrics = ServiceMetrics(frozenset({"/predict_draft", "/model"}))
    # when requests are answered on them and on paths it does not know
    for path, status in [("/predict_draft", 200)] * 2 + [
        ("/predict_draft", 400),
        ("/ui/app.js", 200),
        ("/no/such/page", 404),
    ]:
        metrics.observe(path, status, 0.003)
    # then each route and status has its count, and unknown paths count as "other"
    assert counts(metrics) == {
        ("/predict_draft", "200"): 2.0,
        ("/predict_draft", "400"): 1.0,
        ("other", "200"): 1.0,
        ("other", "404"): 1.0,
    }


def samples(metrics: ServiceMetrics, home: Path | None = None) -> dict[tuple, float]:
    """Every sample: (name, its labels' values in order) -> value."""
    families = text_string_to_metric_families(metrics.latest(home).decode())
    return {(s.name, *s.labels.values()): s.value for family in families for s in family.samples}


def test_answers_are_counted_by_route_and_version_with_the_logs_lag_and_losses() -> None:
    # given metrics that watch a prediction log holding at most 4 answers
    metrics = ServiceMetrics(frozenset({"/predict_draft"}))
    log = AnswerLog(None, 2**20, 3600.0, 4)
    log.watchers.append(metrics)
    # when 3 early answers of version 1 are recorded, then 3 more find the queue full
    log.record(entry(3))
    log.record(entry(3))
    assert log.flush()

    # then the answers kept are counted with their sum, in their probability buckets
    seen = samples(metrics)
    assert seen[("likecast_answer_probability_count", "1", "early")] == 3
    assert seen[("likecast_answer_probability_sum", "1", "early")] == pytest.approx(0.75)
    assert seen[("likecast_answer_probability_bucket", "0.2", "1", "early")] == 0
    assert seen[("likecast_answer_probability_bucket", "0.3", "1", "early")] == 3
    # and the log's losses and queue as its writer last saw them
    assert seen[("likecast_prediction_log_dropped_total",)] == 3
    assert seen[("likecast_prediction_log_waiting",)] == 3  # at the cycle that took them
    assert seen[("likecast_prediction_log_lag_seconds",)] >= 0
    log.close()


def test_the_last_monitor_figures_are_gauges_when_a_check_has_run(tmp_path: Path) -> None:
    # given metrics, and a home where only a drift check has written its figures
    metrics = ServiceMetrics(frozenset())
    assert not any(name.startswith("likecast_monitor") for name, *_ in samples(metrics, tmp_path))
    checked_at = datetime(2026, 12, 7, 12, tzinfo=UTC)
    figures = {"max_distance": 0.31, "features_moved": 2.0, "roc_auc@60": None}
    write_last(
        tmp_path,
        "drift",
        CheckFigures(
            checked_at=checked_at, model_version="4", answers=5000, alert=True, figures=figures
        ),
    )

    # when scraped, then each figure is a gauge labelled by check, version and name
    seen = samples(metrics, tmp_path)
    assert seen[("likecast_monitor_figure", "drift", "max_distance", "4")] == 0.31
    assert seen[("likecast_monitor_figure", "drift", "features_moved", "4")] == 2
    assert math.isnan(seen[("likecast_monitor_figure", "drift", "roc_auc@60", "4")])
    assert seen[("likecast_monitor_alert", "drift", "4")] == 1
    assert seen[("likecast_monitor_checked_timestamp_seconds", "drift", "4")] == (
        checked_at.timestamp()
    )
    assert seen[("likecast_monitor_answers", "drift", "4")] == 5000
    assert not any(key[1:2] == ("estimate",) for key in seen if key[0].startswith("likecast_mon"))
