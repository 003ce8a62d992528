"""A request's clock (``Draft.when``) is worked out once, where it is validated, and
travels with the request; a caller cannot set it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from serving.core.items import parse_item
from serving.core.requests import Draft, Early


@pytest.mark.parametrize(
    ("body", "posted", "age", "zone"),
    [
        (
            {"creator_id": "c1", "posted_at": "2026-06-01T08:00:00", "timezone": "Asia/Kolkata"},
            datetime(2026, 6, 1, 2, 30, tzinfo=UTC),
            0.0,
            "Asia/Kolkata",
        ),
        (
            {"creator_id": "c1", "posted_at": "2026-06-01T08:00:00+02:00"},
            datetime(2026, 6, 1, 6, 0, tzinfo=UTC),
            0.0,
            "UTC+02:00",
        ),
        (
            {
                "creator_id": "c1",
                "likes": 5,
                "posted_at": "2026-06-01T08:00:00",
                "observed_at": "2026-06-01T09:40:00",
                "timezone": "Asia/Kolkata",
            },
            datetime(2026, 6, 1, 2, 30, tzinfo=UTC),
            100.0,
            "Asia/Kolkata",
        ),
    ],
    ids=["zone", "offset", "early"],
)
def test_a_validated_request_carries_its_clock_through_the_services_rebuild(
    body: dict[str, Any], posted: datetime, age: float, zone: str
) -> None:
    # given a request validated as BentoML validates it
    model = Early if "likes" in body else Draft
    request = model.model_validate(body)
    # when the service puts its fields back together without validating again
    rebuilt = model.model_construct(**{k: getattr(request, k) for k in model.model_fields})
    # then its clock came along: posting instant, age and the creator's zone
    assert (rebuilt.when.posted, rebuilt.when.age, rebuilt.when.zone_name) == (posted, age, zone)


@pytest.mark.parametrize("model", [Draft, Early])
def test_a_caller_cannot_set_the_clock(model: type[Draft]) -> None:
    # given a body that tries to give the request's clock itself
    body = {"creator_id": "c1", "likes": 5, "age_minutes": 60, "when": "tomorrow"}
    if model is Draft:
        body = {k: v for k, v in body.items() if k not in ("likes", "age_minutes")}
    # when it is read as a batch item, then the key is refused as unknown
    said = parse_item(0, body)
    assert isinstance(said, list)
    assert [p["loc"] for p in said] == [["when"]]
    # and the published schema does not offer it
    assert "when" not in model.model_json_schema()["properties"]
