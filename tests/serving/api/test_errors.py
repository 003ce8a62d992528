"""Refusals in likecast's words: one body shape for every 4xx, one INFO line in the log."""

from __future__ import annotations

import logging

import pytest
from bentoml.exceptions import InvalidArgument, ServiceUnavailable
from pydantic import BaseModel, Field, ValidationError

from serving.api.errors import RefusalsAtInfo, plain_body
from serving.core.problems import problem


@pytest.mark.parametrize(
    ("loc", "msg", "expected_loc", "expected_msg"),
    [
        (
            ["likes"],
            "Input should be greater than or equal to 0",
            ["likes"],
            "Input should be greater than or equal to 0",
        ),
        (
            [],
            "Value error, posted_at: required with observed_at",
            ["posted_at"],
            "required with observed_at",
        ),
        ([], "earlier[1].likes: must be >= 0", ["earlier", 1, "likes"], "must be >= 0"),
        ([], "items: at most 5 per request, got 6", ["items"], "at most 5 per request, got 6"),
        ([], "no model loaded", [], "no model loaded"),
    ],
)
def test_a_problem_names_its_field(loc, msg, expected_loc, expected_msg) -> None:
    # when a rule is put in the one shape
    said = problem(loc, msg)
    # then the field is in loc and the rule is in msg, without pydantic's prefix
    assert said == {"loc": expected_loc, "msg": expected_msg, "type": "value_error"}


@pytest.mark.parametrize(
    "body",
    [
        # BentoML's own validation body
        {
            "error": "1 validation error for DraftIODescriptor",
            "detail": [
                {
                    "type": "string_too_short",
                    "loc": ["creator_id"],
                    "msg": "String should have at least 1 character",
                    "url": "https://errors.pydantic.dev/2/v/string_too_short",
                }
            ],
        },
        # BentoML's body for an exception raised by the service: a one-item list
        [{"error": "creator_id: String should have at least 1 character"}],
    ],
)
def test_bentoml_bodies_become_likecast_bodies(body) -> None:
    plain = plain_body(body)
    assert plain["error"] == "creator_id: String should have at least 1 character"
    assert [d["loc"] for d in plain["detail"]] == [["creator_id"]]
    assert "url" not in plain["detail"][0]


def test_invalid_json_is_a_problem_of_the_body() -> None:
    plain = plain_body(
        {"detail": [{"loc": [], "msg": "Invalid JSON: EOF", "type": "json_invalid"}]}
    )
    assert plain["detail"][0]["loc"] == ["body"]


class _Bounded(BaseModel):
    likes: int = Field(ge=0)


def _record(exc: BaseException) -> logging.LogRecord:
    return logging.LogRecord(
        "bentoml",
        logging.ERROR,
        __file__,
        1,
        "Exception on %s [%s]",
        ("/predict_early", "POST"),
        (type(exc), exc, None),
    )


def _validation_error() -> ValidationError:
    try:
        _Bounded(likes=-1)
    except ValidationError as exc:
        return exc
    raise AssertionError("no error")


@pytest.mark.parametrize(
    "exc", [_validation_error(), InvalidArgument("age_minutes: must be < 10080")]
)
def test_a_refusal_is_logged_in_one_info_line(exc: BaseException) -> None:
    # given BentoML's record of a refused request
    record = _record(exc)
    # when the filter sees it
    assert RefusalsAtInfo().filter(record)
    # then it is one INFO line naming the route and the field, with no traceback
    assert record.levelno == logging.INFO
    assert record.exc_info is None
    line = record.getMessage()
    assert line.startswith("refused /predict_early [POST]: ")
    assert "\n" not in line
    assert ("likes" in line) or ("age_minutes" in line)


def test_a_server_error_keeps_its_level_and_traceback() -> None:
    record = _record(ServiceUnavailable("no model loaded"))
    assert RefusalsAtInfo().filter(record)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
