"""Hostile values in every field of every prediction route of the service (in this
process): a 4xx that names the field, or an answer; never a 5xx. And a junk batch is refused
by a real `likecast serve` before any per-item work, without slowing anyone else down."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from tests.helpers import DRAFT, EARLY, InProcess, Served

HOSTILE = (
    1e308, -1e308, -1, 0, "", "x" * 20_000, None, [], {"a": 1}, True,
    "9999-12-31T23:59:59Z", "0001-01-01T00:00:00+01:00", "=HYPERLINK(1)",
)  # fmt: skip
DRAFT_FIELDS = (
    "creator_id", "video_id", "category", "duration_s", "posted_at", "timezone", "caption",
    "hashtags", "creator_followers", "music_trending", "history", "explain",
)  # fmt: skip
EARLY_FIELDS = (
    "age_minutes", "observed_at", "likes", "views", "comments", "replies", "shares",
    "follows", "completion_rate", "retention_3s", "earlier",
)  # fmt: skip
CASES = [
    (route, field, value)
    for route, fields in (
        ("/predict_draft", DRAFT_FIELDS),
        ("/whatif", DRAFT_FIELDS),
        ("/predict_early", DRAFT_FIELDS + EARLY_FIELDS),
    )
    for field in fields
    for value in HOSTILE
]


def _body(route: str, field: str, value: object) -> dict:
    base = EARLY if route == "/predict_early" else DRAFT
    body = {**base, field: value}
    if field == "observed_at":
        body.pop("age_minutes")
    return body


def test_hostile_fields_get_a_4xx_naming_them_never_a_5xx(service: InProcess) -> None:
    # given a hostile value in each field of each route, alone and in one batch
    statuses = {}
    with service.client() as http:
        for route, field, value in CASES:
            reply = http.post(route, json=_body(route, field, value))
            statuses[(route, field, repr(value)[:30])] = reply
        items = [_body("/predict_early", f, v) for r, f, v in CASES if r == "/predict_early"]
        batch = http.post("/predict_batch", json={"items": items})
    # then every answer is a success or a client error that names the field
    assert len(CASES) >= 400
    for (route, field, value), reply in statuses.items():
        assert reply.status_code < 500, (route, field, value, reply.text[:300])
        if reply.status_code >= 400:
            assert field in reply.text, (route, field, value, reply.text[:300])
    assert batch.status_code == 200, batch.text[:300]
    results = batch.json()["results"]
    assert len(results) == len(items)
    assert all(r.get("prediction") or r.get("error") for r in results)


@pytest.mark.server  # the stall it guards against is a real server's
def test_a_junk_batch_is_refused_while_a_draft_is_still_answered(served: Served) -> None:
    # given four clients posting 300,000 junk items each (600 KB bodies)
    junk = json.dumps({"items": [0] * 300_000}).encode()
    replies: list[httpx.Response] = []

    def post_junk() -> None:
        with served.client() as http:
            replies.append(
                http.post("/predict_batch", content=junk,
                          headers={"content-type": "application/json"})
            )  # fmt: skip

    threads = [threading.Thread(target=post_junk) for _ in range(4)]
    # when they post while a creator asks for a draft
    for thread in threads:
        thread.start()
    with served.client() as http:
        draft = http.post("/predict_draft", json=DRAFT)
    for thread in threads:
        thread.join()
    # then each junk batch gets a small 400 naming the limit, and the draft is answered
    assert all(r.status_code == 400 for r in replies), [r.text[:200] for r in replies]
    assert all(len(r.content) < 10_000 for r in replies), [len(r.content) for r in replies]
    assert "items" in replies[0].text
    assert draft.status_code == 200


@pytest.mark.parametrize("item", [0, "x", None, [1], 1e308])
def test_a_batch_item_that_is_no_object_gets_its_own_error(service: InProcess, item) -> None:
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": [DRAFT, item]})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert results[0]["prediction"]
    assert results[1]["error"][0]["msg"] == "expected an object"
