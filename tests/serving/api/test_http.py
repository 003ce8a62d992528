"""The HTTP API: answers, validation, refusals and documentation on the service in this
process (``service``: BentoML's ASGI app, every middleware, a model folder); what only a
real `likecast serve` of the registry's champion shows (its version, health, the admin
token) on one (``served``)."""

from __future__ import annotations

import json
import logging
from importlib.metadata import version

import httpx
import numpy as np
import pandas as pd
import pytest

from features.examples import video_rows
from features.labels import label_videos
from features.matrix import build_features, feature_frame
from features.rows import rows_at_ages
from features.store import CreatorStore
from models.registry import load_model
from serving.core.predictor import Predictor
from serving.core.requests import Early
from tests.helpers import DRAFT, EARLY, TOKEN, InProcess, Served, wait_until

# the version a model folder is served as; a registry's is its number (``served``)
FOLDER_VERSION = "local"


@pytest.mark.server
def test_a_draft_gets_a_probability_and_its_context(served: Served) -> None:
    with served.client() as http:
        reply = http.post("/predict_draft", json=DRAFT)
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert 0 < answer["probability"] < 1
    assert answer["threshold"] == 1000
    assert answer["horizon_days"] == 7
    assert answer["model_version"] == "1"
    assert answer["age_minutes"] == 0
    assert answer["factors"] is None, "explanations only when asked"
    assert answer["reliability"]["age_bucket_minutes"] == 0
    assert answer["reliability"]["text"].startswith("Predictions before posting are")


@pytest.mark.parametrize(
    ("creator", "history", "source"),
    [
        ("c000003", None, "store"),
        ("nobody-knows-me", None, "cold_start"),
        ("nobody-knows-me", {"hist_videos": 12, "hist_hit_rate": 0.5}, "request"),
        ("c000003", {"hist_hit_rate": 0.9}, "store+request"),
    ],
)
def test_history_comes_from_the_store_the_request_or_cold_start(
    service: InProcess, creator: str, history, source: str
) -> None:
    body = {**DRAFT, "creator_id": creator, **({"history": history} if history else {})}
    with service.client() as http:
        answer = http.post("/predict_draft", json=body).json()
    assert answer["history"]["source"] == source
    if history:
        for key, value in history.items():
            assert answer["history"][key] == value
    if source == "cold_start":
        assert answer["history"]["hist_videos"] == 0
        assert answer["history"]["hist_median_likes"] is None


def test_early_numbers_move_the_probability_the_right_way(service: InProcess) -> None:
    with service.client() as http:
        low = http.post("/predict_early", json=EARLY).json()
        high = http.post("/predict_early", json={**EARLY, "likes": 400}).json()
    assert low["age_minutes"] == 60
    assert high["probability"] >= low["probability"]


def test_an_early_answer_carries_its_context_and_the_growth_it_saw(service: InProcess) -> None:
    # given a creator in the store and an early request with two earlier counts
    with service.client() as http:
        rates = http.get("/model").json()["category_rates"]
        answer = http.post("/predict_early", json=EARLY).json()
    history = answer["history"]
    assert history["source"] == "store"
    assert history["hist_videos"] > 0
    # then the context is the food videos' share in training and the creator's recent share
    category, creator = answer["context"]["category"], answer["context"]["creator"]
    assert category["rate"] == round(rates["food"]["rate"], 4)
    assert category["videos"] == rates["food"]["videos"]
    assert category["text"].startswith("Typically ")
    assert "of food videos reach 1,000 likes" in category["text"]
    assert creator["videos"] == min(history["hist_videos"], 30)
    assert creator["rate"] == pytest.approx(history["hist_hit_rate"], abs=5e-4)
    assert creator["text"].startswith(f"Your last {creator['videos']} video")
    # and the growth: 28 likes from 15 to 30 minutes (112/h), 55 from 30 to 60 (110/h)
    assert answer["growth"] == {
        "likes_per_hour": 110.0,
        "earlier_likes_per_hour": 112.0,
        "trend": "steady",
        "text": "Likes per hour steady: 110 now, 112 before",
    }


def test_a_draft_has_no_growth_and_a_new_creator_no_creator_context(service: InProcess) -> None:
    body = {**DRAFT, "creator_id": "nobody-knows-me"}
    with service.client() as http:
        answer = http.post("/predict_draft", json=body).json()
    assert answer["growth"] is None
    assert answer["context"]["creator"] is None
    assert answer["context"]["category"]["videos"] > 0


def test_explanations_size_each_factor_in_points_biggest_first(service: InProcess) -> None:
    # given an early request an hour after posting, which the blend answers with LightGBM
    with service.client() as http:
        reply = http.post("/predict_early", json={**EARLY, "explain": True})
    # when it asks for factors, then it gets at most five, biggest first, in plain English
    assert reply.headers["content-language"] == "en"
    factors = reply.json()["factors"]
    assert 0 < len(factors) <= 5
    assert [abs(f["points"]) for f in factors] == sorted(
        (abs(f["points"]) for f in factors), reverse=True
    )
    assert all(f["direction"] == ("up" if f["points"] > 0 else "down") for f in factors)
    assert all(f["text"].isascii() and ": " in f["text"] for f in factors)
    assert any(any(ch.isdigit() for ch in f["text"]) for f in factors), "values are shown"


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("header", "content_language"),
    [({"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"}, "zh-CN"), ({}, "en"),
     ({"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}, "en"), ({"Accept-Language": "?!"}, "en")],
)  # fmt: skip
def test_answers_speak_the_language_the_request_asks_for(
    service: InProcess, header: dict[str, str], content_language: str
) -> None:
    # given an early request from a creator the store does not know, asking for factors
    body = {**EARLY, "creator_id": "nobody-knows-me", "explain": True}
    # when it is posted with (or without) an Accept-Language header
    with service.client() as http:
        early = http.post("/predict_early", json=body, headers=header)
        batch = http.post("/predict_batch", json={"items": [body]}, headers=header)
        whatif = http.post("/whatif", json=DRAFT, headers=header)
    # then every answer says its language, and every text is in it
    for reply in (early, batch, whatif):
        assert reply.status_code == 200, reply.text
        assert reply.headers["content-language"] == content_language
    answer = early.json()
    texts = [
        answer["reliability"]["text"],
        *answer["warnings"],
        *(f["text"] for f in answer["factors"]),
        answer["context"]["category"]["text"],
        answer["growth"]["text"],
        *whatif.json()["advice"],
    ]
    assert answer["warnings"], "the unknown creator is named"
    assert answer["factors"], "an hour after posting, factors are shown"
    chinese = content_language == "zh-CN"
    assert all(_chinese(text) == chinese for text in texts), texts
    assert batch.json()["results"][0]["prediction"]["warnings"] == answer["warnings"]


def test_a_batch_answers_in_order_with_per_item_errors(service: InProcess) -> None:
    items = [DRAFT, {**EARLY, "likes": 5000, "views": 100}, EARLY, {"creator_id": ""}]
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items})
    assert reply.status_code == 200, reply.text
    results = reply.json()["results"]
    assert [r["index"] for r in results] == [0, 1, 2, 3]
    assert results[0]["prediction"]["age_minutes"] == 0
    assert results[1]["error"][0]["loc"] == ["likes"]
    assert "must be <= views" in results[1]["error"][0]["msg"]
    assert results[2]["prediction"]["age_minutes"] == 60
    assert results[2]["prediction"]["reliability"]["age_bucket_minutes"] == 60
    assert results[3]["error"][0]["loc"] == ["creator_id"]


def test_a_batch_over_the_limit_is_refused(service: InProcess) -> None:
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": [DRAFT] * 1001})
    assert reply.status_code == 400
    assert "at most 1000" in reply.text


def test_a_batch_asking_too_many_explanations_is_refused(service: InProcess) -> None:
    # given a batch within the size limit where 101 items ask for explanations
    items = [{**DRAFT, "explain": i <= 100} for i in range(200)]
    # when posted, then it is refused, naming the limit
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items})
    assert reply.status_code == 400
    assert "at most 100 may set explain, got 101" in reply.text


def test_whatif_covers_each_hour_and_recommends_only_beyond_the_noise(service: InProcess) -> None:
    # given a draft, when its what-if is asked for
    with service.client() as http:
        answer = http.post("/whatif", json=DRAFT).json()
    # then every hour and a few durations are scored
    assert len(answer["hours"]) == 24
    assert sorted(h["local_hour"] for h in answer["hours"]) == list(range(24))
    assert len(answer["durations"]) >= 4
    # and a choice is recommended only above the current answer's interval, else advice says so
    low, high = answer["current_interval"]["low"], answer["current_interval"]["high"]
    for best, options, name in [
        (answer["best_hour"], answer["hours"], "Posting time"),
        (answer["best_duration"], answer["durations"], "Video length"),
    ]:
        if best is None:
            assert f"{name} makes no measurable difference for this draft." in answer["advice"]
        else:
            top = max(o["probability"] for o in options)
            assert best["probability"] > high
            assert best["probability"] >= top - (high - low) / 2


def test_model_info_describes_what_is_served(service: InProcess) -> None:
    with service.client() as http:
        info = http.get("/model").json()
    assert info["model_version"] == FOLDER_VERSION
    assert info["threshold"] == 1000
    assert "likes_log" in info["features"]
    assert "food" in info["categories"]
    assert info["metrics"]["test_roc_auc"] > 0.8
    assert 0.5 < info["metrics_by_age"]["60"]["roc_auc"] <= 1
    assert info["metrics_by_age"]["0"]["n"] > 100
    assert info["loaded_at"]
    assert info["store_creators"] > 100


@pytest.mark.parametrize(
    ("accept", "name", "content_language"),
    [(None, "rural life", "en"), ("zh-CN,zh;q=0.9", "乡村生活", "zh-CN")],
)
def test_model_info_names_categories_in_the_language_asked(
    service: InProcess, accept: str | None, name: str, content_language: str
) -> None:
    headers = {"Accept-Language": accept} if accept else {}
    with service.client() as http:
        reply = http.get("/model", headers=headers)
    assert reply.json()["category_names"]["rural_life"] == name
    assert reply.headers["content-language"] == content_language


@pytest.mark.parametrize(
    "wall_time",
    ["2026-10-25T02:30:00", "2027-03-28T02:30:00"],  # Berlin: happens twice / never happens
)
def test_a_posting_time_a_dst_change_makes_odd_still_answers(service: InProcess, wall_time) -> None:
    # given a planned posting time, without offset, that a DST change makes ambiguous or skips
    draft = {**DRAFT, "posted_at": wall_time, "timezone": "Europe/Berlin"}
    # when it is asked about
    with service.client() as http:
        reply = http.post("/predict_draft", json=draft)
    # then it answers, reading the time with the offset in force before the change
    assert reply.status_code == 200, reply.text
    assert 0 < reply.json()["probability"] < 1


@pytest.mark.server
@pytest.mark.parametrize("route", ["/livez", "/readyz", "/metrics"])
def test_health_routes(served: Served, route: str) -> None:
    with served.client() as http:
        assert http.get(route).status_code == 200


def test_metrics_count_requests_by_route_and_status(service: InProcess) -> None:
    def count(text: str, route: str, status: int) -> float:
        key = f'likecast_requests_total{{route="{route}",status="{status}"}} '
        line = next((row for row in text.splitlines() if row.startswith(key)), key + "0")
        return float(line.removeprefix(key))

    with service.client() as http:
        # given the counts so far
        before = http.get("/metrics").text
        # when two drafts are answered, one is refused, and an unknown path is asked for
        for _ in range(2):
            assert http.post("/predict_draft", json=DRAFT).status_code == 200
        assert http.post("/predict_draft", json={**DRAFT, "duration_s": -1}).status_code == 400
        assert http.get("/no/such/page").status_code == 404
        after = http.get("/metrics")
    # then each is counted under its route and status, unknown paths under "other"
    assert after.headers["content-type"].startswith("text/plain")
    assert count(after.text, "/predict_draft", 200) - count(before, "/predict_draft", 200) == 2
    assert count(after.text, "/predict_draft", 400) - count(before, "/predict_draft", 400) == 1
    assert count(after.text, "other", 404) - count(before, "other", 404) == 1
    assert 'likecast_request_seconds_bucket{le="0.05",route="/predict_draft"}' in after.text


def test_openapi_documents_every_prediction_route(service: InProcess) -> None:
    with service.client() as http:
        doc = http.get("/docs.json").json()
    for route in ("/predict_draft", "/predict_early", "/predict_batch", "/whatif"):
        assert "post" in doc["paths"][route], route
    # in likecast's words, not BentoML's boilerplate
    assert doc["info"]["version"] == version("likecast")
    assert "Accept-Language" in doc["info"]["description"]
    assert "bentoml" not in json.dumps([doc["info"], doc["tags"]]).lower()


def test_the_api_documentation_page_answers(service: InProcess) -> None:
    # given the link `make demo` prints and the README gives
    with service.client() as http:
        page = http.get("/docs")
    # then it is the documentation page, reading likecast's document
    assert page.status_code == 200
    assert "swagger" in page.text.lower()
    # under likecast's name, not BentoML's
    assert "<title>likecast API</title>" in page.text
    assert "BentoML" not in page.text


def test_a_refusal_names_field_and_rule_without_library_words(
    service: InProcess, caplog: pytest.LogCaptureFixture
) -> None:
    # given a draft with two bad fields
    body = {**DRAFT, "creator_id": "", "duration_s": "abc"}
    # when it is sent
    with service.client() as http, caplog.at_level(logging.INFO):
        reply = http.post("/predict_draft", json=body)
    # then the body names both fields, with no class names or links
    assert reply.status_code == 400
    answer = reply.json()
    assert [d["loc"] for d in answer["detail"]] == [["creator_id"], ["duration_s"]]
    assert answer["error"].startswith("creator_id: ")
    for word in ("IODescriptor", "validation error for", "http", "Value error"):
        assert word not in reply.text, word
    # and the service log has one INFO line for it, no traceback
    lines = [(r.levelname, r.getMessage(), r.exc_info) for r in caplog.records]
    refused = [line for line in lines if "refused /predict_draft" in line[1]]
    assert refused, lines
    assert all(level == "INFO" and not trace for level, _, trace in refused), refused
    assert not any("Exception on /predict_draft" in message for _, message, _ in lines)


@pytest.mark.parametrize(
    ("route", "body", "field", "words"),
    [
        ("/predict_draft", {**DRAFT, "creator_id": ""}, "creator_id", "at least 1 character"),
        (
            "/predict_draft",
            {k: v for k, v in DRAFT.items() if k != "creator_id"},
            "creator_id",
            "required",
        ),
        (
            "/predict_draft",
            {**DRAFT, "duration_s": -3},
            "duration_s",
            "greater than or equal to 0.1",
        ),
        ("/predict_draft", {**DRAFT, "timezone": "Mars/Olympus"}, "timezone", "unknown time zone"),
        ("/predict_draft", {**DRAFT, "caption": "x" * 3000}, "caption", "at most 2200"),
        (
            "/predict_draft",
            {**DRAFT, "favourite_colour": "red"},
            "favourite_colour",
            "Extra inputs",
        ),
        ("/predict_draft", {**DRAFT, "posted_at": "next tuesday"}, "posted_at", "datetime"),
        ("/predict_early", {**EARLY, "likes": -1}, "likes", "greater than or equal to 0"),
        (
            "/predict_early",
            {**EARLY, "completion_rate": 1.5},
            "completion_rate",
            "less than or equal to 1",
        ),
        ("/predict_early", {**EARLY, "likes": 3000}, "likes", "must be <= views"),
        (
            "/predict_early",
            {k: v for k, v in EARLY.items() if k != "age_minutes"},
            "age_minutes",
            "required unless observed_at is given",
        ),
        (
            "/predict_early",
            {**EARLY, "age_minutes": 0},
            "age_minutes",
            "greater than or equal to 0.01",
        ),
        (
            "/predict_early",
            {**EARLY, "earlier": [{"age_minutes": 90, "likes": 1}]},
            "earlier",
            "must be < the age of the counts",
        ),
        ("/predict_batch", {"items": []}, "items", "at least 1 item"),
    ],
)
def test_invalid_requests_get_a_400_naming_field_and_rule(
    service: InProcess, route: str, body: dict, field: str, words: str
) -> None:
    with service.client() as http:
        reply = http.post(route, json=body)
    assert reply.status_code == 400, reply.text
    detail = reply.json()["detail"]
    assert any(words in d["msg"] and (not field or field in d["loc"]) for d in detail), detail


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"{not json", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"", "application/json"),
        (b"creator_id=x", "application/json"),
    ],
)
def test_malformed_bodies_are_client_errors(service: InProcess, body: bytes, content_type: str):
    with service.client() as http:
        reply = http.post("/predict_draft", content=body, headers={"content-type": content_type})
    assert 400 <= reply.status_code < 500, reply.text


@pytest.mark.parametrize(
    ("headers", "status"),
    [({"content-type": "multipart/form-data"}, 415), ({"content-type": "text/csv"}, 415)],
)
def test_only_json_bodies_are_read(service: InProcess, headers: dict, status: int) -> None:
    with service.client() as http:
        reply = http.post("/predict_draft", content=b'{"creator_id": "x"}', headers=headers)
    assert reply.status_code == status
    assert "expected application/json" in reply.text


def test_an_oversized_body_is_refused_before_parsing(service: InProcess) -> None:
    huge = b'{"items": [' + b'{"creator_id": "x"},' * 150_000 + b'{"creator_id": "x"}]}'
    with service.client() as http:
        reply = http.post(
            "/predict_batch", content=huge, headers={"content-type": "application/json"}
        )
    assert reply.status_code == 413


def test_observed_before_posting_is_a_400(service: InProcess) -> None:
    body = {k: v for k, v in EARLY.items() if k not in ("age_minutes", "earlier")}
    body["observed_at"] = "2026-07-01T19:00:00+08:00"
    with service.client() as http:
        reply = http.post("/predict_early", json=body)
    assert reply.status_code == 400
    assert "observed_at: snapshot before posted_at" in reply.text


@pytest.mark.server
@pytest.mark.parametrize(
    ("header", "status"), [(None, 401), ("Bearer wrong", 401), (f"Bearer {TOKEN}", 200)]
)
def test_admin_reload_needs_the_token(served: Served, header, status: int) -> None:
    # given a client with or without the admin token
    headers = {"authorization": header} if header else {}
    with served.client() as http:
        # when it asks for a reload (on a loaded machine one may outlast the reply's wait:
        # 202 while it goes on, 409 while it is under way; it is asked again until it ends)
        def answered() -> httpx.Response | None:
            reply = http.post("/admin/reload", headers=headers)
            return None if reply.status_code in (202, 409) else reply

        reply = wait_until(answered, 120, "finished reload")
    # then only the token opens it, and the champion is unchanged
    assert isinstance(reply, httpx.Response)
    assert reply.status_code == status
    if status == 200:
        assert reply.json()["event"] == "unchanged"


def test_features_served_equal_features_built_in_batch(service: InProcess, small_dataset, trained):
    """Parity: the same draft and counts give the same features and answer, at every age."""
    # given a sample of videos at the exact ages of their snapshots, from minutes after
    # posting to the horizon, built in batch
    horizon = service.settings.horizon_minutes
    videos, snapshots = small_dataset.videos, small_dataset.snapshots
    labels = label_videos(videos, snapshots, 1000, horizon)
    per_video = video_rows(videos, labels, 1000, horizon, 30)
    sample = per_video.sample(80, random_state=1).reset_index(drop=True)
    picks = snapshots[
        snapshots["video_id"].isin(sample["video_id"])
        & snapshots["age_minutes"].between(10, horizon)
    ]
    # each video at another of its snapshots' ages, cycling through them
    choices = picks.groupby("video_id", observed=True)["age_minutes"].agg(list)
    choices = choices.reindex(sample["video_id"])
    ages = pd.Series(
        [a[k % len(a)] if isinstance(a, list) else np.nan for k, a in enumerate(choices)],
        index=choices.index,
    )
    sample = sample[ages.notna().to_numpy()].reset_index(drop=True)
    batch_rows = rows_at_ages(sample, snapshots, ages.dropna().to_numpy(), horizon)
    assert batch_rows["age_minutes"].nunique() >= 8, "several ages, not one"
    assert (batch_rows["age_minutes"] == horizon).any(), "the horizon too"
    bundle = load_model(service.settings.model_uri, service.settings).bundle
    batch = build_features(batch_rows, bundle.spec)

    # when the same videos are sent as requests, history given explicitly
    requests = [Early.model_validate(_request(row)) for _, row in batch_rows.iterrows()]
    no_store = CreatorStore(service.settings.home / "no-such-store.sqlite")
    predictor = Predictor(
        load_model(service.settings.model_uri, service.settings), no_store, service.settings
    )
    online = feature_frame(predictor.build(requests).rows.matrix, bundle.spec)

    # then every feature column matches, and so do the served answers (creator ids the
    # live store does not know, so only the request's history applies, as in batch)
    pd.testing.assert_frame_equal(online, batch, check_exact=False, rtol=1e-9)
    items = [
        {**r.model_dump(mode="json"), "creator_id": f"parity-{r.creator_id}"} for r in requests
    ]
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items})
    served_p = [r["prediction"]["probability"] for r in reply.json()["results"]]
    expected = bundle.answer_rows(batch_rows)
    np.testing.assert_allclose(served_p, expected.probability, rtol=0, atol=5e-5)  # rounded
    assert [r["prediction"]["decided"] for r in reply.json()["results"]] == list(expected.decided)


def _none(value):
    return None if pd.isna(value) else value


def _request(row: pd.Series) -> dict:
    last = row["hist_last_posted_at"]
    history = {
        "hist_videos": row["hist_videos"],
        "hist_median_likes": _none(row["hist_median_likes"]),
        "hist_p90_likes": _none(row["hist_p90_likes"]),
        "hist_hit_rate": _none(row["hist_hit_rate"]),
        "hist_days_since_prev_post": None
        if pd.isna(last)
        else (row["posted_at"] - last).total_seconds() / 86400,
    }
    earlier = [
        {"age_minutes": row[f"lag{i}_age_minutes"], "likes": int(row[f"lag{i}_likes"])}
        for i in (1, 2)
        if not pd.isna(row[f"lag{i}_likes"])
    ]
    counters = ("views", "comments", "replies", "shares", "follows")
    return {
        "creator_id": row["creator_id"],
        "category": _none(row["category"]),
        "duration_s": _none(row["duration_s"]),
        "posted_at": row["posted_at"].isoformat(),
        "caption": _none(row["caption"]),
        "hashtags": _none(row["hashtags"]),
        "creator_followers": None
        if pd.isna(row["creator_followers"])
        else int(row["creator_followers"]),
        "music_trending": _none(row["music_trending"]),
        "history": {k: v for k, v in history.items() if v is not None},
        "age_minutes": row["age_minutes"],
        "likes": int(row["likes"]),
        **{c: None if pd.isna(row[c]) else int(row[c]) for c in counters},
        "completion_rate": _none(row["completion_rate"]),
        "retention_3s": _none(row["retention_3s"]),
        "earlier": earlier,
    }


@pytest.mark.parametrize(
    ("changes", "probability", "reached", "decided"),
    [
        ({"age_minutes": 1440, "likes": 1200, "views": 30000,
          "earlier": [{"age_minutes": 1380, "likes": 1199}]}, 1.0, True, True),
        ({"age_minutes": 10080, "likes": 1062, "views": 30000, "earlier": []}, 1.0, True, True),
        ({"age_minutes": 10080, "likes": 999, "views": 30000, "earlier": []}, 0.0, False, True),
        ({"age_minutes": 20000, "likes": 400, "views": 30000, "earlier": []}, 0.0, False, True),
    ],
)  # fmt: skip
def test_what_the_counts_settle_is_answered_from_them(
    service: InProcess, changes: dict, probability: float, reached: bool, decided: bool
) -> None:
    with service.client() as http:
        reply = http.post("/predict_early", json={**EARLY, **changes})
    assert reply.status_code == 200, reply.text
    answer = reply.json()
    assert (answer["probability"], answer["reached"], answer["decided"]) == (
        probability,
        reached,
        decided,
    )


def test_an_answer_says_what_it_assumed(service: InProcess) -> None:
    body = {**DRAFT, "creator_id": "nobody-knows-me", "category": "cats"}
    with service.client() as http:
        answer = http.post("/predict_draft", json=body).json()
        late = http.post("/predict_early", json={**EARLY, "age_minutes": 11_000}).json()
    assert "category 'cats' is unknown; scored as unknown" in answer["warnings"]
    assert any("'nobody-knows-me' has no earlier videos" in w for w in answer["warnings"])
    assert not answer["decided"]
    assert any("after the 7-day horizon" in w for w in late["warnings"])
    assert answer["probability"] == round(answer["probability"], 4)


def test_a_posting_time_before_the_store_is_a_400_with_the_fix(service: InProcess) -> None:
    with service.client() as http:
        reply = http.post("/predict_draft", json={**DRAFT, "posted_at": "2020-01-01T18:00:00Z"})
    assert reply.status_code == 400
    assert "oldest state" in reply.text
    assert "likecast features materialize" in reply.text
