"""The serving benchmark's anchor: the same model and the same request handling as the
BentoML service (pydantic request, Predictor, pydantic answer) behind bare Starlette.

What BentoML adds on top of this is what the benchmark measures. The model folder comes
from LIKECAST_MODEL_URI, the creator store from LIKECAST_HOME, as for the service.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from features.store import CreatorStore
from likecast.settings import get_settings
from models.registry import load_model
from serving.core.predictor import Predictor
from serving.core.requests import Draft

SETTINGS = get_settings()
PREDICTOR = Predictor(
    load_model(SETTINGS.model_uri, SETTINGS), CreatorStore(SETTINGS.store_path), SETTINGS
)


async def predict_draft(request: Request) -> Response:
    draft = Draft.model_validate_json(await request.body())
    answer = PREDICTOR.predict([draft])[0]
    return Response(answer.model_dump_json(), media_type="application/json")


app = Starlette(routes=[Route("/predict_draft", predict_draft, methods=["POST"])])
