"""The guard in front of the JSON routes: no unknown keys, JSON bodies only (their size is the
edge's)."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from pydantic import BaseModel
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from serving.api.json_bodies import JsonBodies


async def echo(request: Request) -> JSONResponse:
    return JSONResponse({"bytes": len(await request.body())})


class Asked(BaseModel):
    """A route's request model (unknown keys are the service tests': they need the edge's
    whole body in front)."""

    name: str = ""


ROUTES = [Route("/json", echo, methods=["POST"]), Route("/other", echo, methods=["POST"])]
APP = JsonBodies(Starlette(routes=ROUTES), models={"/json": Asked})


def post(path: str, body: bytes, content_type: str = "application/json") -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=APP)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(path, content=body, headers={"content-type": content_type})

    return asyncio.run(send())


@pytest.mark.parametrize("content_type", ["application/json", "Application/JSON; charset=utf-8"])
def test_a_json_body_reaches_the_app_whole(content_type: str) -> None:
    # given a JSON body / when posted / then the app reads all of it
    reply = post("/json", b"x" * 1024, content_type)
    assert reply.status_code == 200
    assert reply.json() == {"bytes": 1024}


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        (b"{}", "multipart/form-data", 415, "content-type"),
        (b"{}", "text/csv; charset=utf-8", 415, "content-type"),
    ],
)
def test_a_body_it_cannot_take_is_refused_naming_why(
    body: bytes, content_type: str, status: int, field: str
) -> None:
    # given a body that is not JSON / when posted to a JSON route / then 415 names the field
    reply = post("/json", body, content_type)
    assert reply.status_code == status
    assert reply.json()["detail"][0]["loc"] == [field]


def test_routes_outside_the_json_routes_pass_untouched() -> None:
    reply = post("/other", b"x" * 5000, "text/csv")
    assert reply.status_code == 200
    assert reply.json() == {"bytes": 5000}
