"""Slow and greedy clients against a real `likecast serve`: sockets, timing and the worker's
one event loop are the point here (the edge's logic is tested in this process in
test_hostile_edge.py). One worker with a small bound, so that the clients would take every
slot if they counted."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from features.loading import Dataset
from likecast.settings import Settings
from tests.helpers import DRAFT, Served
from tests.serving.conftest import _store_and_serve

pytestmark = pytest.mark.server  # `likecast serve`

MAX_IN_FLIGHT = 8
MAX_QUEUE_S = 0.3
BODY_TIMEOUT_S = 3
HEADER_TIMEOUT_S = 1


@pytest.fixture(scope="module")
def edge_served(
    bundle_dir: Path, small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """`likecast serve` of the ``bundle_dir`` folder: one worker, at most 8 requests at once,
    each started within 0.3 s of its arrival."""
    settings = Settings(home=tmp_path_factory.mktemp("edge-home"))
    env = {
        "LIKECAST_MODEL_URI": str(bundle_dir),
        "LIKECAST_SERVICE_WORKERS": "1",
        "LIKECAST_MAX_IN_FLIGHT": str(MAX_IN_FLIGHT),
        "LIKECAST_MAX_QUEUE_S": str(MAX_QUEUE_S),
        "LIKECAST_BODY_READ_TIMEOUT_S": str(BODY_TIMEOUT_S),
        "LIKECAST_HEADER_READ_TIMEOUT_S": str(HEADER_TIMEOUT_S),
    }
    yield from _store_and_serve(small_dataset, settings, env)


def connect(served: Served, first_bytes: bytes) -> socket.socket:
    host, port = served.url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=30)
    sock.sendall(first_bytes)
    return sock


def status_line(sock: socket.socket) -> str:
    """The first line the server answers on ``sock``, and the connection is closed after."""
    return answer(sock)[1].split("\r\n", 1)[0]


def slow_body(served: Served) -> socket.socket:
    """A client that sends a draft's headers and the first byte of its body, then stalls."""
    head = (
        "POST /predict_draft HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 1000\r\n\r\n{"
    )
    return connect(served, head.encode())


def scrape(served: Served, route: str, status: int) -> float:
    key = f'likecast_requests_total{{route="{route}",status="{status}"}} '
    text = httpx.get(f"{served.url}/metrics", timeout=30).text
    line = next((row for row in text.splitlines() if row.startswith(key)), key + "0")
    return float(line.removeprefix(key))


def test_slow_bodies_take_no_slot_and_are_cut_off_at_their_deadline(edge_served: Served) -> None:
    # given 100 clients stalled in their bodies, 12 times the bound on requests in flight
    before = scrape(edge_served, "/predict_draft", 408)
    stalled = [slow_body(edge_served) for _ in range(100)]
    opened = time.monotonic()
    # when others ask for drafts meanwhile
    times, statuses = [], []
    with edge_served.client() as http:
        for _ in range(20):
            started = time.monotonic()
            statuses.append(http.post("/predict_draft", json=DRAFT).status_code)
            times.append(time.monotonic() - started)
    assert time.monotonic() - opened < BODY_TIMEOUT_S, "the drafts ran past the deadline"
    # then every draft is answered at once
    assert statuses == [200] * 20
    assert max(times) < 1.0, times
    # and each stalled client is answered 408 at its deadline and disconnected
    assert {status_line(sock) for sock in stalled} == {"HTTP/1.1 408 Request Timeout"}
    assert time.monotonic() - opened < BODY_TIMEOUT_S + 5
    # and /metrics counts them as 408
    assert scrape(edge_served, "/predict_draft", 408) - before == 100


@pytest.mark.parametrize(
    "first_bytes",
    [b"", b"GET /livez HTTP/1.1\r\nHo", b"POST /predict_draft HT"],
    ids=["nothing", "half-headers", "half-request-line"],
)
def test_slow_headers_are_answered_408_and_disconnected(
    edge_served: Served, first_bytes: bytes
) -> None:
    # given 30 clients that open a connection and stall before their headers end
    before = scrape(edge_served, "other", 408)
    opened = time.monotonic()
    stalled = [connect(edge_served, first_bytes) for _ in range(30)]
    # when the header deadline passes, then each is answered 408 and disconnected
    assert {status_line(sock) for sock in stalled} == {"HTTP/1.1 408 Request Timeout"}
    assert time.monotonic() - opened < HEADER_TIMEOUT_S + 5
    # and /metrics counts them (their path never arrived: "other")
    assert scrape(edge_served, "other", 408) - before == 30


@pytest.mark.parametrize(
    "first_bytes",
    [b"GET /livez HTTP/1.1\r\nX-Big: ", b"GET /livez?", b"GET /livez HTTP/1.1\r\n"],
    ids=["one-long-header", "long-url", "many-headers"],
)
def test_headers_past_the_size_bound_are_answered_431(
    edge_served: Served, first_bytes: bytes
) -> None:
    # given a client whose request line and headers run past 64 KiB
    before = scrape(edge_served, "other", 431)
    filler = b"a" * 70_000 if not first_bytes.endswith(b"\r\n") else b"X-A: b\r\n" * 9000
    sock = connect(edge_served, first_bytes + filler)
    # when the server has read them, then it answers 431 and disconnects
    assert status_line(sock) == "HTTP/1.1 431 Request Header Fields Too Large"
    # and /metrics counts it
    assert scrape(edge_served, "other", 431) - before == 1


def test_a_burst_past_the_worker_bound_is_shed_with_503_and_retry_after(
    edge_served: Served,
) -> None:
    # given 48 clients that each post a 300-item batch and hold back its last byte
    body = json.dumps({"items": [DRAFT] * 300}).encode()
    head = (
        "POST /predict_batch HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    before = scrape(edge_served, "/predict_batch", 503)
    clients = [connect(edge_served, head.encode() + body[:-1]) for _ in range(48)]
    # and the worker has read the rest: it answers later probes after reading what came before
    for _ in range(5):
        httpx.get(f"{edge_served.url}/livez", timeout=30)
    # and then they complete them all at once, so that on any machine the work arrives together
    for sock in clients:
        sock.sendall(body[-1:])
    # when they are answered
    replies = [answer(sock) for sock in clients]
    # then some are served and the rest (too many at once, or waited too long) are shed
    # with when to retry
    statuses = [status for status, _ in replies]
    assert set(statuses) == {200, 503}, statuses
    shed = [text for status, text in replies if status == 503]
    assert all("\r\nretry-after: 1\r\n" in text.lower() for text in shed)
    assert all('"type": "overloaded"' in text for text in shed)
    # and /metrics counts them as 503
    assert scrape(edge_served, "/predict_batch", 503) - before == len(shed)


def answer(sock: socket.socket) -> tuple[int, str]:
    """The status and the whole answer the server sent on ``sock``, until it closed it."""
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    sock.close()
    return int(data.split(b" ", 2)[1]), data.decode()
