"""Answer headers: the caller's X-Request-ID kept when it is sane, made otherwise, returned on
every answer (refusals too), and the key of the answer's line in the prediction log."""

from __future__ import annotations

import re
import uuid

import pandas as pd
import pytest

from features.prediction_log import log_folder, read_log
from tests.helpers import DRAFT, InProcess, Served, wait_until

MADE = re.compile(r"[0-9a-f]{32}")


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("abc-123", True),
        ("x" * 128, True),
        ("x" * 129, False),
        ("two words", False),
        ("line\tbreak", False),
        ("", False),
        (None, False),
    ],
    ids=["plain", "128", "too-long", "space", "control", "empty", "absent"],
)
def test_a_request_id_is_kept_when_sane_and_made_otherwise(
    service: InProcess, given: str | None, kept: bool
) -> None:
    # given a draft sent with or without an id of the caller's
    headers = {} if given is None else {"X-Request-ID": given}
    # when it is answered
    with service.client() as http:
        reply = http.post("/predict_draft", json=DRAFT, headers=headers)
    # then the answer carries the caller's id, or one made for it
    assert reply.status_code == 200, reply.text
    returned = reply.headers["x-request-id"]
    assert returned == given if kept else MADE.fullmatch(returned)


@pytest.mark.parametrize(
    ("route", "body"),
    [("/predict_draft", {"creator_id": ""}), ("/predict_early", {**DRAFT, "likes": -1})],
)
def test_a_refusal_carries_the_request_id_too(service: InProcess, route: str, body: dict) -> None:
    # when a request is refused, then its id still comes back
    with service.client() as http:
        reply = http.post(route, json=body, headers={"X-Request-ID": "refused-1"})
    assert reply.status_code == 400
    assert reply.headers["x-request-id"] == "refused-1"


def test_a_batch_logs_each_item_under_the_one_request_id(service: InProcess) -> None:
    # given a batch of two drafts, one naming its video, under the caller's id
    name = uuid.uuid4().hex
    items = [{**DRAFT, "video_id": "v-42"}, DRAFT]
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items}, headers={"X-Request-ID": name})
    assert reply.status_code == 200, reply.text

    # when the log has been written (within about a second), then each item is a line
    def logged() -> list[pd.DataFrame]:  # the batch's lines, once both are written
        answers = read_log(log_folder(service.home)).answers
        mine = answers[answers["request_id"] == name]
        return [mine] if len(mine) == 2 else []

    (mine,) = wait_until(logged, 10, "the batch's lines in the prediction log")
    assert mine["item"].tolist() == [0, 1]
    assert mine["route"].unique().tolist() == ["batch"]
    assert mine["video_id"].fillna("-").tolist() == ["v-42", "-"]


@pytest.mark.server
def test_a_served_answer_returns_its_id_and_lands_in_the_log(served_folder: Served) -> None:
    # given a real service, and a draft with the caller's id and its video's
    name = f"real-{uuid.uuid4().hex}"
    with served_folder.client() as http:
        reply = http.post(
            "/predict_draft", json={**DRAFT, "video_id": "v-7"}, headers={"X-Request-ID": name}
        )
        assert reply.status_code == 200, reply.text
        # then the id comes back, and the answer is a line of the log in the service's home
        assert reply.headers["x-request-id"] == name

        def logged() -> list[pd.DataFrame]:  # the answer's line, once written
            answers = read_log(log_folder(served_folder.home)).answers
            mine = answers[answers["request_id"] == name]
            return [mine] if len(mine) == 1 else []

        (line,) = wait_until(logged, 10, "the answer's line")
        assert line["video_id"].tolist() == ["v-7"]
        assert line["probability"].tolist() == [reply.json()["probability"]]
        # and /metrics counts it among the drafts of the served version
        metrics = http.get("/metrics").text
    assert 'likecast_answer_probability_count{model_version="local",route="draft"}' in metrics
