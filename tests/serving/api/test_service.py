"""The service's routes: each declared once, and limited and counted from that declaration."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import bentoml
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from serving.api import service
from serving.api.service import BENTOML_ROUTES, declared_routes


class Echo(BaseModel):
    text: str


def test_the_middlewares_read_the_routes_the_service_declares() -> None:
    # given the service as declared, when its routes are read
    json_routes, pages = declared_routes(service.Likecast, service.web)
    # then the body limit covers exactly its JSON APIs, and the metrics count every route
    assert json_routes == {"/predict_draft", "/predict_early", "/predict_batch", "/whatif"}
    assert pages == {"/", "/docs", "/model", "/metrics", "/admin/reload", "/ui"}
    assert json_routes == service.JSON_ROUTES
    assert service.METRICS.routes == json_routes | pages | BENTOML_ROUTES


def test_a_new_endpoint_is_limited_and_counted_by_its_declaration_alone() -> None:
    # given a service that declares one more JSON API and one more page, and nothing else
    app = FastAPI(openapi_url=None)

    @bentoml.service(name="another")
    @bentoml.asgi_app(app, path="/")
    class Another:
        @bentoml.api(route="/echo", input_spec=Echo, output_spec=Echo)
        async def echo(self, **fields: Any) -> Echo:
            return Echo(**fields)

        @app.get("/status")
        def status(self) -> dict:
            return {}

        @app.get("/files/{name}")
        def file(self, name: str) -> dict:
            return {}

    # when its routes are read, then both new ones are there, the parametrized path is not
    assert declared_routes(Another, app) == ({"/echo"}, {"/status"})


@pytest.mark.subprocess
def test_the_supervisor_imports_no_data_stack() -> None:
    # given a fresh interpreter, as BentoML's supervisor is
    # when it imports the service module to read its configuration
    heavy = ("pandas", "pyarrow", "lightgbm", "mlflow", "sklearn")
    code = (
        "import sys, serving.api.service; "
        f"print(' '.join(m for m in {heavy!r} if m in sys.modules))"
    )
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # then none of the libraries a worker loads came with it (docs/adr/0019)
    assert found.stdout.split() == []
