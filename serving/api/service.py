"""The BentoML service: JSON prediction APIs, the creators' page, model info and hot swap.

Run it with ``likecast serve`` (which calls ``bentoml serve serving.api.service:Likecast``). The
model comes from LIKECAST_MODEL_URI (a folder or models:/ URI) or the registry's champion.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import bentoml
from fastapi import FastAPI, Header, HTTPException
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from likecast.errors import StoreTargetError
from likecast.settings import get_settings
from serving.api.edge import Admission, use_header_deadline
from serving.api.errors import PlainErrors, log_refusals_at_info
from serving.api.headers import AnswerHeaders
from serving.api.json_bodies import JsonBodies
from serving.api.language import CONTENT_LANGUAGE, answer_language, requested_language
from serving.api.metrics import CONTENT_TYPE, RequestMetrics, ServiceMetrics
from serving.api.openapi import OpenApiDocument
from serving.api.public import api_page, public_model_info
from serving.api.schemas import BatchRequest
from serving.core.answers import BatchResponse, Prediction, WhatIf
from serving.core.requests import Draft, Early

if TYPE_CHECKING:
    from serving.core.predictor import Predictor

SETTINGS = get_settings()
# the longest an admitted request may take before its answer starts (504 after)
REQUEST_TIMEOUT_S = 10.0
UI_DIR = Path(__file__).parent / "ui"
UI_FILES = {path.name: path for path in UI_DIR.iterdir() if path.is_file()}
web = FastAPI(title="likecast extras", docs_url=None, redoc_url=None, openapi_url=None)
# BentoML's own routes, beside those declared below
BENTOML_ROUTES = frozenset({"/livez", "/readyz", "/docs.json"})
# an admin reload answers within this, under the traffic timeout (10 s) that would make it 504
REPLY_WITHIN_S = 9.0


class RequestInvalid(bentoml.exceptions.InvalidArgument):
    """A request that parsed but makes no sense (e.g. observed before posted): a 400."""


@bentoml.service(
    name="likecast",
    # two workers by default; they switch models together (serving/swap/)
    workers=SETTINGS.service_workers,
    threads=SETTINGS.service_threads,
    # No max_concurrency: BentoML's counts a request from before its body is read, so slow
    # clients took every slot; serving/api/edge.py sheds load instead, and answers 408 and
    # 504 itself (docs/adr/0003). BentoML's timeout stays as a backstop behind both
    # deadlines. Each request's bookkeeping lives until this timeout expires, so a long one
    # is a big heap for the collector to walk (docs/facts.md).
    traffic={"timeout": SETTINGS.body_read_timeout_s + REQUEST_TIMEOUT_S + 1},
    logging={"access": {"enabled": False}},
    # /metrics is the service's own (serving/api/metrics.py)
    metrics={"enabled": False},
    # no trace exporter is configured, so spans would be built only to be dropped
    tracing={"excluded_urls": [".*"]},
    http={"host": SETTINGS.host, "port": SETTINGS.port},
)
@bentoml.asgi_app(web, path="/")
class Likecast:
    """The HTTP service: each route asks the model its worker serves now.

    Predictions are short CPU work, so the prediction APIs are ``async`` and run on the
    event loop (docs/adr/0019). BentoML has validated
    a body against ``input_spec`` before the call, so the fields are put back together with
    ``model_construct``, not validated a second time.
    """

    def __init__(self) -> None:
        # Imported here, in the worker: `bentoml serve`'s supervisor process imports this
        # module only to read the service's configuration, and would otherwise hold its own
        # copy of pandas, LightGBM and MLflow for nothing.
        # LightGBM imports scikit-learn for an estimator API the service never calls; a None
        # entry makes that optional import fail as if not installed.
        sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]  # None blocks it
        from serving.core.answer_log import AnswerLog
        from serving.swap.holder import ModelHolder

        log_refusals_at_info()
        self.settings = get_settings()
        if self.settings.service_dir is None:
            raise RuntimeError("LIKECAST_SERVICE_DIR is not set: start it with `likecast serve`")
        worker = bentoml.server_context.worker_index  # None when not under `serve`
        # outside `serve` (in-process tests) this is the one worker: no sibling to wait for
        alone = self.settings.model_copy(update={"service_workers": 1})
        # every answer to the prediction log, written by its own thread; /metrics hears of
        # each (their probabilities) and of the log's lag
        self.answer_log = AnswerLog.of(self.settings)
        self.answer_log.watchers.append(METRICS)
        self.holder = ModelHolder(
            self.settings if worker else alone,
            self.settings.service_dir,
            worker or 1,
            self.answer_log,
        )
        self.holder.start()
        # Long-lived objects (model, store, libraries) never need collecting again: freezing
        # them keeps the collector's pauses short (see docs/facts.md).
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        """Ready with a model and a creator store built for its target (or none, when the
        operator allows it). BentoML's /readyz would answer a fixed sentence or an empty line:
        the exception raised here gives its status and says why, or what the replica serves
        with (model, store backend and generation, what it lacks), in one line."""
        reason = self.holder.not_ready
        if reason is not None:
            raise StarletteHTTPException(503, f"not ready: {reason}")
        raise StarletteHTTPException(200, f"ready: {self.holder.readiness}")

    @contextmanager
    def _model(self) -> Iterator[Predictor]:
        """The model to answer this request with; a request it refuses becomes a 400. A
        creator store built for another target refuses an answer (503) where the request
        looks its history up: it would build on another question's history. What the model
        is (``/model``) is still said."""
        predictor = self.holder.switch_to_committed()
        if predictor is None:
            raise bentoml.exceptions.ServiceUnavailable("no model loaded")
        try:
            yield predictor
        except StoreTargetError as exc:  # found where the request looks its history up
            raise bentoml.exceptions.ServiceUnavailable(str(exc)) from exc
        except ValueError as exc:
            raise RequestInvalid(str(exc)) from exc

    @bentoml.api(route="/predict_draft", input_spec=Draft, output_spec=Prediction)
    async def predict_draft(self, ctx: bentoml.Context, **fields: Any) -> Prediction:
        """Probability that a draft reaches the threshold within the horizon."""
        with self._model() as model:
            return model.predict([Draft.model_construct(**fields)], answer_language(ctx))[0]

    @bentoml.api(route="/predict_early", input_spec=Early, output_spec=Prediction)
    async def predict_early(self, ctx: bentoml.Context, **fields: Any) -> Prediction:
        """The same, for a posted video with its engagement so far."""
        with self._model() as model:
            return model.predict([Early.model_construct(**fields)], answer_language(ctx))[0]

    @bentoml.api(route="/predict_batch", input_spec=BatchRequest, output_spec=BatchResponse)
    async def predict_batch(self, items: list[Any], ctx: bentoml.Context) -> BatchResponse:
        """Many drafts and early requests; each invalid item gets its own error."""
        with self._model() as model:
            return model.predict_batch(items, answer_language(ctx))

    @bentoml.api(route="/whatif", input_spec=Draft, output_spec=WhatIf)
    async def whatif(self, ctx: bentoml.Context, **fields: Any) -> WhatIf:
        """The draft's probability at each hour of the next day and at a few durations."""
        with self._model() as model:
            return model.whatif(Draft.model_construct(**fields), answer_language(ctx))

    @web.get("/model")
    def model_info(self, accept_language: str | None = Header(None)) -> JSONResponse:
        """The served version, its metrics, threshold, horizon, features, load time; the
        category names in the language ``Accept-Language`` asks for."""
        language = requested_language(accept_language)
        with self._model() as model:
            check = self.holder.shared.registry_check()
            info = public_model_info(model.describe(language), self.holder.events, check)
            headers = {"Content-Language": CONTENT_LANGUAGE[language]}
            return JSONResponse(info, headers=headers)

    @web.get("/", response_class=HTMLResponse)
    @web.get("/docs", response_class=HTMLResponse)
    def api_page(self) -> HTMLResponse:
        """The API's Swagger page, without the tag manager BentoML's own page loads."""
        return HTMLResponse(api_page())

    @web.get("/metrics")
    def metrics(self) -> Response:
        """Prometheus metrics of every worker: requests by route and status, latency by route,
        answers by route and version, the prediction log's lag, the last monitor figures."""
        return Response(METRICS.latest(self.settings.home), media_type=CONTENT_TYPE)

    @web.post("/admin/reload")
    def admin_reload(self, authorization: str | None = Header(None)) -> JSONResponse:
        """Load the model the alias (or the folder) holds now, on every worker; the old one
        serves until the new one works. One reload at a time: another asked meanwhile is
        answered at once (409, saying since when the one under way runs), and one that
        outlasts ``REPLY_WITHIN_S`` goes on after its 202."""
        token = self.settings.admin_token
        if not token:
            raise HTTPException(404, "admin routes are disabled (no LIKECAST_ADMIN_TOKEN set)")
        if authorization != f"Bearer {token}":
            raise HTTPException(401, "missing or wrong bearer token")
        done: list[dict] = []
        reload = threading.Thread(
            target=lambda: done.append(self.holder.reload(wait=False)),
            name="likecast-reload",
            daemon=True,
        )
        reload.start()
        reload.join(REPLY_WITHIN_S)
        if not done:
            going_on = {
                "event": "reloading",
                "detail": "the reload goes on: GET /model lists its outcome among the events",
            }
            return JSONResponse(going_on, status_code=202)
        event = done[0]
        failed = event["event"] in ("reload_failed", "busy")
        return JSONResponse(event, status_code=409 if failed else 200)

    @web.get("/ui", response_class=HTMLResponse)
    def ui_page(self) -> FileResponse:
        """The creators' page."""
        return FileResponse(UI_DIR / "index.html")

    @web.get("/ui/{name}")
    def ui_asset(self, name: str) -> FileResponse:
        """A file of the creators' page (script, style sheet)."""
        path = UI_FILES.get(name)  # a lookup: no hostile name reaches the file system
        if path is None:
            raise HTTPException(404, f"no such file: {name[:100]!r}")
        return FileResponse(path)


def declared_routes(service: Any, app: FastAPI) -> tuple[frozenset[str], frozenset[str]]:
    """The JSON API routes of a BentoML ``service`` and the page routes of its FastAPI ``app``.

    Every route is declared once, by its decorator; the middlewares' lists are read from
    there. A page path with parameters is left out (it counts as "other" in the metrics: a
    label per value would let any visitor grow them without bound).
    """
    json_routes = frozenset(api.route for api in service.apis.values())
    pages = frozenset(path for path in app.openapi()["paths"] if "{" not in path)
    return json_routes, pages


def request_models(service: Any) -> dict[str, type[BaseModel]]:
    """Each JSON API route's request model (BentoML's subclass of the declared one)."""
    return {api.route: api.input_spec for api in service.apis.values()}


JSON_ROUTES, PAGE_ROUTES = declared_routes(Likecast, web)
METRICS = ServiceMetrics(
    JSON_ROUTES | PAGE_ROUTES | BENTOML_ROUTES,
    SETTINGS.service_dir / "metrics" if SETTINGS.service_dir else None,
)
# mypy does not apply class decorators: to it Likecast is the class, not a bentoml Service
add_middleware = Likecast.add_asgi_middleware  # type: ignore[attr-defined]
add_middleware(RequestMetrics, metrics=METRICS)  # outermost: counts refusals too
add_middleware(AnswerHeaders)  # request id and security headers, refusals included
add_middleware(
    Admission,
    body_timeout_s=SETTINGS.body_read_timeout_s,
    max_body_bytes=SETTINGS.max_body_bytes,
    max_in_flight=SETTINGS.max_in_flight,
    max_queue_s=SETTINGS.max_queue_s,
    request_timeout_s=REQUEST_TIMEOUT_S,
)
# outside PlainErrors: its refusals are already in the plain shape, with long keys cut
add_middleware(JsonBodies, models=request_models(Likecast))
add_middleware(PlainErrors, json_routes=JSON_ROUTES)
add_middleware(OpenApiDocument, service=Likecast)
# the workers' uvicorn reads this when it starts, after importing this module
use_header_deadline(SETTINGS.header_read_timeout_s, METRICS.observe)
