"""The BentoML service: JSON prediction APIs, the creators' page, model info and hot swap.

Run it with ``likecast serve`` (which calls ``bentoml serve serving.api.service:Likecast``). The
model comes from LIKECAST_MODEL_URI (a folder or models:/ URI) or the registry's champion.
"""

from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bentoml
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import ValidationError

from likecast.settings import get_settings
from serving.api.body_limit import JSON_ROUTES, JsonBodyGuard
from serving.api.metrics import CONTENT_TYPE, RequestMetrics, ServiceMetrics
from serving.api.public import api_page, public_model_info
from serving.api.schemas import (
    BatchRequest,
    BatchResponse,
    Draft,
    Early,
    Prediction,
    WhatIf,
)

if TYPE_CHECKING:
    from serving.predictor import Predictor

SETTINGS = get_settings()
UI_DIR = Path(__file__).parent / "ui"
UI_FILES = {path.name: path for path in UI_DIR.iterdir() if path.is_file()}
web = FastAPI(title="likecast extras", docs_url=None, redoc_url=None, openapi_url=None)
METRICS = ServiceMetrics(
    (*JSON_ROUTES, "/model", "/ui", "/admin/reload", "/livez", "/readyz", "/metrics", "/docs.json"),
    os.environ.get("LIKECAST_METRICS_DIR"),  # set by `likecast serve` (serving/api/metrics.py)
)


def _errors(exc: ValidationError | ValueError) -> list[dict]:
    if isinstance(exc, ValidationError):
        return [
            {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_url=False, include_context=False, include_input=False)
        ]
    return [{"loc": [], "msg": str(exc), "type": "value_error"}]


class RequestInvalid(bentoml.exceptions.InvalidArgument):
    """A request that parsed but makes no sense (e.g. observed before posted): a 400."""


@bentoml.service(
    name="likecast",
    # Two workers by default: a second one roughly halves p99 at 8 connections on 2 cores
    # (bench/results/serving.json); they switch models together (serving/swap/).
    workers=SETTINGS.service_workers,
    threads=SETTINGS.service_threads,
    # Each request's bookkeeping lives until its timeout expires, so a long timeout is a
    # big heap for the collector to walk (docs/facts.md); the slowest request,
    # a 1,000-item batch, takes well under a second.
    traffic={"timeout": 10, "max_concurrency": 256},
    logging={"access": {"enabled": False}},
    # /metrics is the service's own (serving/api/metrics.py): BentoML's metrics middleware was
    # about a tenth of the worker's CPU under load.
    metrics={"enabled": False},
    # No trace exporter is configured, so spans would be built only to be dropped.
    tracing={"excluded_urls": [".*"]},
    http={"host": SETTINGS.host, "port": SETTINGS.port},
)
@bentoml.asgi_app(web, path="/")
class Likecast:
    def __init__(self) -> None:
        # Imported here, in the worker: `bentoml serve`'s supervisor process imports this
        # module only to read the service's configuration, and would otherwise hold its own
        # copy of pandas, LightGBM and MLflow (about 300 MB) for nothing.
        # LightGBM imports scikit-learn (64 MB a worker) for an estimator API the service
        # never calls; a None entry makes that optional import fail as if not installed.
        sys.modules.setdefault("sklearn", None)
        from serving.swap.holder import ModelHolder

        self.settings = get_settings()
        worker = bentoml.server_context.worker_index or 1  # None when not under `serve`
        self.holder = ModelHolder(self.settings, self.settings.model_uri, worker)
        self.holder.start()
        # Long-lived objects (model, store, libraries) never need collecting again: freezing
        # them keeps the collector's pauses short (see docs/facts.md).
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        current = self.holder.current
        # a CreatorStore object always exists; "loaded" says whether its file was there
        return current is not None and current.store.loaded

    @property
    def _predictor(self) -> Predictor:
        current = self.holder.current
        if current is None:
            raise bentoml.exceptions.ServiceUnavailable("no model loaded")
        return current

    def _predict(self, request: Draft) -> Prediction:
        try:
            return self._predictor.predict([request])[0]
        except ValueError as exc:
            raise RequestInvalid(str(exc)) from exc

    # Predictions are short CPU work (a draft under a millisecond, 1,000 items tens of
    # milliseconds), so they run on the event loop. In BentoML's thread pool they ran up to
    # 2x slower: threads that wait for the GIL after each native call (SQLite, LightGBM,
    # Arrow) queue behind one another, and the GIL serializes the work anyway. BentoML has
    # validated the body against input_spec before the call, so the fields are put back
    # together with model_construct, not validated a second time.
    @bentoml.api(route="/predict_draft", input_spec=Draft, output_spec=Prediction)
    async def predict_draft(self, **fields: Any) -> Prediction:
        """Probability that a draft reaches the threshold within the horizon."""
        return self._predict(Draft.model_construct(**fields))

    @bentoml.api(route="/predict_early", input_spec=Early, output_spec=Prediction)
    async def predict_early(self, **fields: Any) -> Prediction:
        """The same, for a posted video with its engagement so far."""
        return self._predict(Early.model_construct(**fields))

    @bentoml.api(route="/predict_batch", input_spec=BatchRequest, output_spec=BatchResponse)
    async def predict_batch(self, items: list[Any]) -> BatchResponse:
        """Many drafts and early requests; each invalid item gets its own error."""
        if len(items) > self.settings.batch_max_items:
            raise RequestInvalid(
                f"items: at most {self.settings.batch_max_items} per request, got {len(items)}"
            )
        predictor = self._predictor
        results: list[dict] = []  # BatchItemResult fields, validated together at the end
        parsed: list[tuple[int, Draft]] = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                error = {"loc": ["items", i], "msg": "expected an object", "type": "dict_type"}
                results.append({"index": i, "error": [error]})
                continue
            try:
                parsed.append((i, (Early if "likes" in item else Draft).model_validate(item)))
            except ValidationError as exc:
                results.append({"index": i, "error": _errors(exc)})
        explaining = sum(request.explain for _, request in parsed)
        if explaining > self.settings.batch_max_explain:
            # each explanation is ~7 ms of LightGBM: a batch of them would outlive the
            # request timeout (batch scoring's --explain has no such limit)
            raise RequestInvalid(
                f"items: at most {self.settings.batch_max_explain} may set explain, "
                f"got {explaining}"
            )
        built = predictor.build([request for _, request in parsed])
        valid = []
        for (i, request), item in zip(parsed, built, strict=True):
            if isinstance(item, ValueError):
                results.append({"index": i, "error": _errors(item)})
            else:
                valid.append((i, request, item))
        if valid:
            answers = predictor.answers([r for _, r, _ in valid], [b for _, _, b in valid])
            results += [
                {"index": i, "prediction": a} for (i, _, _), a in zip(valid, answers, strict=True)
            ]
        results.sort(key=lambda r: r["index"])
        return BatchResponse.model_validate({"results": results})

    @bentoml.api(route="/whatif", input_spec=Draft, output_spec=WhatIf)
    async def whatif(self, **fields: Any) -> WhatIf:
        """The draft's probability at each hour of the next day and at a few durations."""
        try:
            return self._predictor.whatif(Draft.model_construct(**fields))
        except ValueError as exc:
            raise RequestInvalid(str(exc)) from exc

    @web.get("/model")
    def model_info(self) -> JSONResponse:
        """The served version, its metrics, threshold, horizon, features, load time."""
        predictor = self._predictor
        return JSONResponse(public_model_info(predictor.describe(), self.holder.events[-10:]))

    @web.get("/", response_class=HTMLResponse)
    @web.get("/docs", response_class=HTMLResponse)
    def api_page(self) -> HTMLResponse:
        """The API's Swagger page, without the tag manager BentoML's own page loads."""
        return HTMLResponse(api_page())

    @web.get("/metrics")
    def metrics(self) -> Response:
        """Prometheus metrics: requests by route and status, latency by route."""
        return Response(METRICS.latest(), media_type=CONTENT_TYPE)

    @web.post("/admin/reload")
    def admin_reload(self, authorization: str | None = Header(None)) -> JSONResponse:
        """Load the model the alias names now; the old one serves until the new one works."""
        token = self.settings.admin_token
        if not token:
            raise HTTPException(404, "admin routes are disabled (no LIKECAST_ADMIN_TOKEN set)")
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "missing or wrong bearer token")
        event = self.holder.reload()
        return JSONResponse(event, status_code=200 if event["event"] != "reload_failed" else 409)

    @web.get("/ui", response_class=HTMLResponse)
    def ui_page(self) -> FileResponse:
        return FileResponse(UI_DIR / "index.html")

    @web.get("/ui/{name}")
    def ui_asset(self, name: str) -> FileResponse:
        path = UI_FILES.get(name)  # a lookup: no hostile name reaches the file system
        if path is None:
            raise HTTPException(404, f"no such file: {name[:100]!r}")
        return FileResponse(path)


Likecast.add_asgi_middleware(RequestMetrics, metrics=METRICS)  # outermost: counts refusals too
Likecast.add_asgi_middleware(JsonBodyGuard, max_body_bytes=SETTINGS.max_body_bytes)
