"""Hostile clients at the service's edge: slow bodies and headers, too many requests at
once, answers made huge by the request, framing and sniffing. In this process where the
service's ASGI app shows it; a real `likecast serve` where sockets and timing are the point
(tests/serving/api/test_hostile_slow_clients.py)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from serving.api.asgi import Message, Receive, Scope, Send
from serving.api.edge import ARRIVED, RETRY_AFTER_S, Admission
from serving.api.errors import plain_body
from serving.api.headers import SECURITY_HEADERS
from serving.api.metrics import RequestMetrics, ServiceMetrics
from tests.helpers import DRAFT, EARLY, InProcess

ANSWER_CAP = 64 * 1024  # the most bytes a refusal may take (issue #32)


# --- refusals the request cannot make huge --------------------------------------------------


def many_unknown(n: int, prefix: str = "") -> dict[str, int]:
    """``n`` keys no request declares (150,000 of them: a 1.7 MB body, as in issue #32)."""
    return {f"{prefix}{i:x}": 1 for i in range(n)}


@pytest.mark.parametrize(
    ("route", "body", "where"),
    [
        ("/predict_draft", {**DRAFT, **many_unknown(150_000)}, ["0"]),
        ("/whatif", {**DRAFT, **many_unknown(5000)}, ["0"]),
        ("/predict_early", {**EARLY, **many_unknown(5000)}, ["0"]),
        ("/predict_draft", {**DRAFT, "history": many_unknown(5000)}, ["history", "0"]),
        (
            "/predict_early",
            {**EARLY, "earlier": [{"age_minutes": 5, "likes": 1, **many_unknown(3000)}]},
            ["earlier", 0, "0"],
        ),
        ("/predict_batch", {"items": [DRAFT], **many_unknown(5000)}, ["0"]),
    ],
    ids=["draft-150k", "whatif", "early", "history", "earlier", "batch-top"],
)
@pytest.mark.slow
def test_unknown_keys_are_refused_with_a_short_capped_list(
    service: InProcess, route: str, body: dict, where: list
) -> None:
    # given a body with thousands of keys no request declares (the first: 1.7 MB)
    raw = json.dumps(body).encode()
    assert len(raw) < 1_800_000
    with service.client() as http:
        # when it is posted
        reply = http.post(route, content=raw, headers={"content-type": "application/json"})
    # then it is refused with the first 20 named and the rest counted, in a few KB (how fast:
    # bench/bench_edge.py, not a timed test)
    assert reply.status_code == 400, reply.text[:300]
    assert len(reply.content) < ANSWER_CAP
    detail = reply.json()["detail"]
    assert detail[0]["loc"] == where
    assert detail[0]["type"] == "extra_forbidden"
    assert len(detail) == 21
    assert re.fullmatch(r"and [\d,]+ more problems", detail[-1]["msg"])
    assert "more problems" in reply.json()["error"]


def test_a_megabyte_long_unknown_key_is_echoed_cut(service: InProcess) -> None:
    # given a draft with one unknown key a million characters long
    body = {**DRAFT, "x" * 1_000_000: 1}
    # when it is posted
    with service.client() as http:
        reply = http.post("/predict_draft", json=body)
    # then the refusal names it by its first characters and its length
    assert reply.status_code == 400
    assert len(reply.content) < 1000
    assert "1,000,000 characters" in reply.json()["detail"][0]["loc"][0]


def test_batch_items_with_many_unknown_keys_get_short_errors(service: InProcess) -> None:
    # given 999 batch items of 150 unknown keys each, and one good item (1,000 in all)
    items = [{**DRAFT, **many_unknown(150, f"u{i}_")} for i in range(999)] + [DRAFT]
    # when the batch is posted
    with service.client() as http:
        reply = http.post("/predict_batch", json={"items": items})
    # then each bad item has its own capped error, the good one its answer
    assert reply.status_code == 200, reply.text[:300]
    results = reply.json()["results"]
    assert all(len(r["error"]) == 21 for r in results[:999])
    assert results[0]["error"][-1]["msg"] == "and 130 more problems"
    assert results[999]["prediction"]["probability"] >= 0
    assert len(reply.content) < 3_000_000  # was 12 MB


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({"detail": [{"loc": ["f"], "msg": "bad", "type": "t"}] * 1000}, 21),
        ({"detail": [{"loc": ["f"], "msg": "bad", "type": "t"}] * 20}, 20),
        ([{"error": "x" * 100_000}], 1),
        ({"detail": [{"loc": ["y" * 10_000], "msg": "m" * 10_000, "type": "t"}]}, 1),
    ],
    ids=["1000-problems", "20-problems", "long-message", "long-field-and-rule"],
)
def test_every_refusal_body_is_capped_and_cut(body: Any, kept: int) -> None:
    # given a refusal BentoML or likecast wrote, when it is put in likecast's shape
    plain = plain_body(body)
    # then at most 20 problems and a count are kept, and no text is long
    assert len(plain["detail"]) == kept
    assert len(json.dumps(plain)) < 4000


# --- headers that keep the pages from being framed or sniffed --------------------------------


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/ui", None),
        ("GET", "/ui/app.js", None),
        ("GET", "/ui/style.css", None),
        ("GET", "/", None),
        ("GET", "/docs", None),
        ("GET", "/docs.json", None),
        ("GET", "/model", None),
        ("GET", "/metrics", None),
        ("GET", "/livez", None),
        ("GET", "/no/such/page", None),
        ("POST", "/predict_draft", DRAFT),
        ("POST", "/predict_draft", {"creator_id": ""}),
        ("POST", "/whatif", DRAFT),
    ],
)
def test_every_answer_carries_the_security_headers(
    service: InProcess, method: str, path: str, body: dict | None
) -> None:
    # given a running service, when a page, an answer or a refusal is fetched
    with service.client() as http:
        reply = http.request(method, path, json=body)
    # then it may not be framed, sniffed, or load from elsewhere
    for name, value in SECURITY_HEADERS:
        assert reply.headers.get(name.decode()) == value.decode(), (path, name)
    assert "frame-ancestors 'none'" in reply.headers["content-security-policy"]


def test_the_page_loads_nothing_its_policy_forbids(service: InProcess) -> None:
    # given the creators' page and the API page
    with service.client() as http:
        pages = [http.get("/ui").text, http.get("/docs").text]
    # then neither has an inline script or a handler attribute the policy would block
    for html in pages:
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == []
        assert not re.search(r"\son[a-z]+=", html)


# --- the edge's deadlines and bound, on its ASGI interface ------------------------------------


def call(
    app: Callable[[Scope, Receive, Send], Awaitable[None]],
    receive: Receive,
    path: str = "/predict_draft",
    headers: list[tuple[bytes, bytes]] | None = None,
    waited: float | None = None,
) -> list[Message]:
    """What ``app`` sends for one request whose body comes from ``receive``, and which
    ``waited`` seconds since it was all in (as the worker's protocol stamps it)."""
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def run() -> None:
        scope = {"type": "http", "method": "POST", "path": path, "headers": headers or []}
        if waited is not None:
            arrived = asyncio.get_running_loop().time() - waited
            scope["extensions"] = {ARRIVED: {"at": arrived}}
        await app(scope, receive, send)  # type: ignore[arg-type]

    asyncio.run(run())
    return sent


async def echo(scope: Scope, receive: Receive, send: Send) -> None:
    body = (await receive())["body"]
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": body})


def edge(app: Any = echo, **options: float) -> Admission:
    settings = {"body_timeout_s": 0.2, "max_body_bytes": 1000, "max_in_flight": 2, "max_queue_s": 1}
    return Admission(app, **{**settings, "request_timeout_s": 0.2, **options})  # type: ignore[arg-type]


def slow_body(pause: float) -> Receive:
    async def receive() -> Message:
        await asyncio.sleep(pause)
        return {"type": "http.request", "body": b"x", "more_body": True}

    return receive


def whole(body: bytes) -> Receive:
    async def receive() -> Message:
        return {"type": "http.request", "body": body, "more_body": False}

    return receive


def test_a_body_that_does_not_arrive_in_time_is_answered_408_and_closed() -> None:
    # given a client that sends one body byte each 50 ms, forever
    # when its body is read with a 0.2 s deadline
    sent = call(edge(), slow_body(0.05))
    # then it is answered 408 naming the body, and the connection is to close
    assert sent[0]["status"] == 408
    assert (b"connection", b"close") in sent[0]["headers"]
    assert json.loads(sent[1]["body"])["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    ("headers", "body"),
    [([(b"content-length", b"5000")], b""), ([], b"x" * 1001)],
    ids=["declared", "chunked"],
)
def test_a_body_over_the_limit_is_refused_413_on_every_route(
    headers: list[tuple[bytes, bytes]], body: bytes
) -> None:
    # given a body over the limit (declared, or found while reading) on a page route
    sent = call(edge(), whole(body), path="/admin/reload", headers=headers)
    # then it is refused as too large
    assert sent[0]["status"] == 413


def test_past_the_bound_requests_are_shed_with_503_and_retry_after() -> None:
    # given a worker that admits 2 requests at once, each held until released
    release = asyncio.Event()

    async def held(scope: Scope, receive: Receive, send: Send) -> None:
        await release.wait()
        await echo(scope, receive, send)

    gate = edge(held, request_timeout_s=5)

    async def five() -> list[int]:
        async def one() -> int:
            sent: list[Message] = []

            async def send(message: Message) -> None:
                sent.append(message)

            scope = {"type": "http", "method": "POST", "path": "/predict_draft", "headers": []}
            await gate(scope, whole(b"{}"), send)
            if sent[0]["status"] == 503:
                assert (b"retry-after", str(RETRY_AFTER_S).encode()) in sent[0]["headers"]
            return sent[0]["status"]

        tasks = [asyncio.ensure_future(one()) for _ in range(5)]
        await asyncio.sleep(0.05)  # all five have arrived
        release.set()
        return sorted(await asyncio.gather(*tasks))

    # when five arrive together
    # then two are answered and three are shed at once
    assert asyncio.run(five()) == [200, 200, 503, 503, 503]
    assert gate.in_flight == 0


@pytest.mark.parametrize(("waited", "status"), [(0.01, 200), (0.9, 200), (1.5, 503), (30, 503)])
def test_a_request_that_waited_too_long_for_its_worker_is_shed(waited: float, status: int) -> None:
    # given a worker that starts requests at most 1 s after they were all in
    # when a request reaches it ``waited`` seconds after
    sent = call(edge(max_queue_s=1), whole(b"{}"), waited=waited)
    # then it is answered, or shed at once with when to retry
    assert sent[0]["status"] == status
    if status == 503:
        assert (b"retry-after", b"1") in sent[0]["headers"]


def test_health_checks_are_never_shed() -> None:
    # given a worker whose bound is reached
    gate = edge(max_in_flight=1)
    gate.in_flight = 1
    # when an orchestrator asks if it is alive, even late, then it is answered
    assert call(gate, whole(b""), path="/livez", waited=30)[0]["status"] == 200
    assert call(gate, whole(b""), path="/predict_draft")[0]["status"] == 503


@pytest.mark.parametrize(
    ("app", "status"),
    [
        ("stalls", 504),  # the edge's deadline
        ("fails", 500),  # uvicorn's answer to an error
        ("leaves", 499),  # the client left before any answer
        ("answers", 200),
    ],
)
def test_metrics_count_the_status_the_client_got(app: str, status: int) -> None:
    # given the service's metrics around its edge, and an app that stalls, fails, finds its
    # client gone, or answers
    async def inner(scope: Scope, receive: Receive, send: Send) -> None:
        if app == "stalls":
            await asyncio.Event().wait()
        if app == "fails":
            raise RuntimeError("a bug")
        if app == "answers":
            await echo(scope, receive, send)

    async def gone() -> Message:
        return {"type": "http.disconnect"}

    metrics = ServiceMetrics(frozenset({"/predict_draft"}))
    stack = RequestMetrics(edge(inner), metrics=metrics)  # type: ignore[arg-type]
    # when a request goes through
    try:
        call(stack, gone if app == "leaves" else whole(b"{}"))
    except RuntimeError:
        assert app == "fails"
    # then /metrics counts it under the status the client got
    text = metrics.latest().decode()
    assert f'likecast_requests_total{{route="/predict_draft",status="{status}"}} 1.0' in text


def test_the_whole_service_answers_through_its_edge(service: InProcess) -> None:
    # given the service in this process, when a draft is asked (httpx, as a client would)
    with service.client() as http:
        reply = http.post("/predict_draft", json=DRAFT)
    # then it is answered as before the edge was put in front
    assert reply.status_code == 200
    assert 0 <= reply.json()["probability"] <= 1


def test_bentoml_counts_no_slot_of_its_own() -> None:
    # given the service's ASGI app as a worker runs it
    from serving.api.service import Likecast

    app = Likecast.to_asgi()  # type: ignore[attr-defined]  # a bentoml Service
    names = [m.cls.__name__ for m in app.user_middleware]
    # then BentoML's concurrency limit (a slot from before the body is read) is not in it,
    # and the edge is inside the metrics, so that each refusal is counted
    assert "MaxConcurrencyMiddleware" not in names
    assert names.index("RequestMetrics") < names.index("Admission") < names.index("JsonBodies")
