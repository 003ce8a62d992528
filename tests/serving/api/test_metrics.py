"""The service's own metrics: requests counted by route and status, unknown paths as "other"."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from serving.api.metrics import ServiceMetrics


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
