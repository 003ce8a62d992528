"""Hostile values the service used to accept silently (#32, item 13): a boolean or
``"1_000"`` as a count, two earlier counts at one age, a NaN refused as if it were too big.
Each is a 4xx naming the field and saying a number is expected; plain numeric text is read
as a file's cell is."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.helpers import DRAFT, EARLY, InProcess

REFUSED = [
    ("/predict_early", "likes", True, "expected a number, got a boolean"),
    ("/predict_early", "likes", False, "expected a number, got a boolean"),
    ("/predict_early", "likes", "1_000", "expected a number, got '1_000'"),
    ("/predict_early", "likes", "NaN", "expected a number, got 'NaN'"),
    ("/predict_early", "likes", "0x10", "expected a number, got '0x10'"),
    ("/predict_early", "views", True, "expected a number, got a boolean"),
    ("/predict_early", "age_minutes", "1_0", "expected a number, got '1_0'"),
    ("/predict_early", "completion_rate", "inf", "expected a number, got 'inf'"),
    ("/predict_draft", "creator_followers", True, "expected a number, got a boolean"),
    ("/predict_draft", "duration_s", "3_0", "expected a number, got '3_0'"),
    ("/whatif", "duration_s", True, "expected a number, got a boolean"),
    ("/predict_draft", "history", {"hist_videos": True}, "expected a number, got a boolean"),
]


def _body(route: str, field: str, value: Any) -> dict:
    return {**(EARLY if route == "/predict_early" else DRAFT), field: value}


@pytest.mark.parametrize(("route", "field", "value", "words"), REFUSED)
def test_a_boolean_or_odd_numeric_text_is_refused_naming_the_field(
    route: str, field: str, value: Any, words: str, service: InProcess
) -> None:
    # given a number field holding a boolean or text pandas would not read as a number
    # when it is posted
    with service.client() as http:
        reply = http.post(route, json=_body(route, field, value))
    # then a 4xx names the field and says a number is expected
    assert 400 <= reply.status_code < 500, reply.text
    assert field in reply.text
    assert words in reply.text


@pytest.mark.parametrize(
    ("field", "value"), [("likes", "40"), ("likes", " 4e1 "), ("views", "900")]
)
def test_plain_numeric_text_is_read_as_a_files_cell_is(
    field: str, value: str, service: InProcess
) -> None:
    # given a count as plain numeric text, as a CSV cell holds it
    with service.client() as http:
        as_text = http.post("/predict_early", json={**EARLY, field: value})
        as_number = http.post("/predict_early", json={**EARLY, field: float(value)})
    # then it is answered as the number would be
    assert as_text.status_code == 200, as_text.text
    assert as_text.json()["probability"] == as_number.json()["probability"]


@pytest.mark.parametrize(
    ("route", "field", "literal"),
    [
        ("/predict_draft", "duration_s", "NaN"),
        ("/predict_draft", "duration_s", "Infinity"),
        ("/predict_early", "completion_rate", "NaN"),
        ("/predict_early", "age_minutes", "-Infinity"),
    ],
)
def test_a_nan_is_refused_as_no_number_not_as_out_of_range(
    route: str, field: str, literal: str, service: InProcess
) -> None:
    # given a body whose number is a NaN or infinity literal (Python's JSON parser reads them)
    body = json.dumps({k: v for k, v in _body(route, field, 0).items() if k != field})
    raw = body[:-1] + f', "{field}": {literal}}}'
    # when it is posted
    with service.client() as http:
        reply = http.post(route, content=raw, headers={"Content-Type": "application/json"})
    # then a 4xx names the field and says a finite number is expected, not a bound
    assert 400 <= reply.status_code < 500, reply.text
    assert field in reply.text
    assert "finite number" in reply.text
    assert "36000" not in reply.text
    assert "36,000" not in reply.text


@pytest.mark.parametrize("likes", [(5, 9), (5, 5)])
def test_two_earlier_counts_at_one_age_are_refused_naming_both(
    likes: tuple[int, int], service: InProcess
) -> None:
    # given two earlier counts at the same age (different likes, or the same twice)
    earlier = [
        {"age_minutes": 30, "likes": likes[0]},
        {"age_minutes": 15, "likes": 2},
        {"age_minutes": 30, "likes": likes[1]},
    ]
    # when posted alone and as one item of a batch
    with service.client() as http:
        reply = http.post("/predict_early", json={**EARLY, "earlier": earlier})
        batch = http.post("/predict_batch", json={"items": [DRAFT, {**EARLY, "earlier": earlier}]})
    # then the request is refused naming both counts, and in a batch only that item is
    assert 400 <= reply.status_code < 500, reply.text
    assert "earlier[0] and earlier[2]" in reply.text
    assert f"likes {likes[0]} and {likes[1]}" in reply.text
    results = batch.json()["results"]
    assert results[0]["prediction"] is not None
    assert "earlier[0] and earlier[2]" in json.dumps(results[1]["error"])
