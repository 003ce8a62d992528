"""The body limit in front of the JSON routes: JSON only, and not too many bytes of it."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serving.api.body_limit import JsonBodyLimit


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


ROUTES = [Route("/json", echo, methods=["POST"]), Route("/other", echo, methods=["POST"])]
APP = JsonBodyLimit(
    Starlette(routes=ROUTES),
    json_routes=frozenset({"/json"}),
    max_body_bytes=1024,
)


def post(path: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=body, headers={"content-type": content_type})

    return asyncio.run(send())


def test_a_json_body_within_the_limit_reaches_the_app_whole() -> None:
    reply = post("/json", b"x" * 1024)
    assert reply.status_code == 200
    assert reply.json() == {"bytes": 1024}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"x" * 1025, "application/json", 413, "body"),
        (b"{}", "multipart/form-data", 415, "content-type"),
        (b"{}", "text/csv; charset=utf-8", 415, "content-type"),
    ],
)
def test_a_body_it_cannot_take_is_refused_naming_why(
    body: bytes, content_type: str, status: int, field: str
) -> None:
    reply = post("/json", body, content_type)
    assert reply.status_code == status
    assert reply.json()["detail"][0]["loc"] == [field]


def test_routes_outside_the_json_routes_pass_untouched() -> None:
    reply = post("/other", b"x" * 5000, "text/csv")
    assert reply.status_code == 200
    assert reply.json() == {"bytes": 5000}
