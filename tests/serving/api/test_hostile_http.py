"""Hostile HTTP requests against the service (in this process, and a real `likecast serve`
where workers or a registry matter): 4xx with details, never a 5xx, and nothing an
unauthenticated visitor should not see."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.helpers import DRAFT, TOKEN, InProcess, Served


@pytest.mark.parametrize(
    "path",
    ["/ui/%00", "/ui/app.js%00.html", "/ui/" + "a" * 5000, "/ui/..%2F..%2Fetc%2Fpasswd"],
)
def test_odd_page_paths_are_client_errors(service: InProcess, path: str) -> None:
    # given a running service, when a page asset with a hostile name is asked for
    with service.client() as http:
        reply = http.get(path)
    # then the answer is a client error, not a server error
    assert reply.status_code in (400, 404), reply.text[:200]


def test_a_chunked_body_over_the_limit_is_refused_with_413(service: InProcess) -> None:
    # given a body larger than the limit, sent in chunks without a content-length
    def chunks() -> Iterator[bytes]:
        yield b'{"items": ['
        for _ in range(300):
            yield b'{"creator_id": "x"},' * 500
        yield b'{"creator_id": "x"}]}'

    # when it is posted
    with service.client() as http:
        reply = http.post(
            "/predict_batch", content=chunks(), headers={"content-type": "application/json"}
        )
    # then it is refused as too large
    assert reply.status_code == 413, reply.text[:200]
    assert "bytes" in reply.json()["detail"][0]["msg"]


@pytest.mark.parametrize("which", [pytest.param("registry", marks=pytest.mark.server), "folder"])
def test_model_info_shows_versions_and_metrics_not_paths(
    which: str, request: pytest.FixtureRequest
) -> None:
    # given a real service of a registry's champion, or one of a model folder (in this
    # process), reloaded once
    served = request.getfixturevalue("served" if which == "registry" else "service")
    with served.client() as http:
        http.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"})
        # when anyone asks what it serves
        info = http.get("/model").json()
    # then versions and metrics are there, and no file system path
    assert info["model_version"]
    assert info["metrics"]
    text = str(info)
    assert str(served.home) not in text
    assert not re.search(r"(^|[\s'\"(])/(tmp|home|etc|root|work|usr|var)/", text), text


@pytest.mark.parametrize("path", ["/", "/docs"])
def test_the_service_serves_no_third_party_script(service: InProcess, path: str) -> None:
    # given a running service, when its root or docs page is fetched
    with service.client() as http:
        reply = http.get(path)
    # then no script (or frame) is loaded from another host
    assert reply.status_code == 200
    html = reply.text.lower()
    assert "googletagmanager" not in html
    assert not re.search(r"<(script|iframe)[^>]*src=[\"']?(https?:)?//", html), html[:500]


def _count(text: str, route: str, status: int) -> float:
    key = f'likecast_requests_total{{route="{route}",status="{status}"}} '
    line = next((row for row in text.splitlines() if row.startswith(key)), key + "0")
    return float(line.removeprefix(key))


@pytest.mark.server
def test_metrics_add_up_across_workers(served: Served) -> None:
    # given the count of answered drafts so far
    def scrape() -> float:
        return _count(httpx.get(f"{served.url}/metrics", timeout=30).text, "/predict_draft", 200)

    before = scrape()
    # when 30 drafts are answered, each on a new connection (so by either worker)
    for _ in range(30):
        assert httpx.post(f"{served.url}/predict_draft", json=DRAFT, timeout=30).is_success
    # then every scrape, whichever worker answers it, counts all 30
    assert [scrape() - before for _ in range(8)] == [30.0] * 8


@pytest.mark.server
def test_without_a_creator_store_the_service_is_live_but_not_ready(served_folder: Served) -> None:
    # given a service with a model and no creator store, when its health is asked
    with served_folder.client() as http:
        livez, readyz = http.get("/livez"), http.get("/readyz")
    # then it is alive, and not ready (README: ready means model and store loaded)
    assert livez.status_code == 200
    assert readyz.status_code == 503
