"""What the unauthenticated routes may show: versions and metrics, never the machine's files.

``/model`` and the root page are open to anyone who reaches the port. The model's folder, the
service's download folders and load errors (which quote them) tell a visitor how the host is
laid out, so they stay in the service's log; BentoML's own API page loads Google Tag Manager,
so the page at ``/`` and ``/docs`` is BentoML's Swagger page without it.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

EVENT_FIELDS = ("event", "from", "to", "serving", "version", "at", "worker")
# BentoML's comment-delimited tag manager blocks (a script in <head>, an iframe in <body>)
_TAG_MANAGER = re.compile(
    r"<!--\s*Google Tag Manager.*?<!--\s*End Google Tag Manager[^>]*-->", re.DOTALL | re.I
)
_CORNER = re.compile(r'<div class="version">.*?</svg></a>\s*</div>', re.DOTALL)
_REMOTE = re.compile(r"<(script|iframe)\b[^>]*\bsrc=[\"']?(https?:)?//.*?</\1>", re.DOTALL | re.I)


def public_model_info(
    described: dict, events: list[dict], registry_check: dict | None = None
) -> dict:
    """``Predictor.describe()``, swap events and the last registry check, without paths or
    error texts."""
    info = {k: v for k, v in described.items() if k != "model_uri"}
    info["registry_check"] = registry_check
    uri = str(described.get("model_uri") or "")
    info["model_source"] = uri if uri.startswith("models:/") else "folder"
    info["events"] = [
        {k: event[k] for k in EVENT_FIELDS if k in event}
        | ({"error": "see the service log"} if "error" in event else {})
        for event in events
    ]
    return info


@cache
def api_page() -> str:
    """BentoML's Swagger page (local scripts only), without third-party scripts."""
    import _bentoml_impl.server as bentoml_server

    html = (Path(bentoml_server.__file__).parent / "main-openapi.html").read_text()
    html = _REMOTE.sub("", _TAG_MANAGER.sub("", html))
    # likecast's title, and no "Powered by BentoML" corner linking away
    html = _CORNER.sub("", html.replace("BentoML Prediction Service", "likecast API"))
    # its relative links assume the page is at "/", but it is served at "/docs" too
    return html.replace('"./static_content/', '"/static_content/')
