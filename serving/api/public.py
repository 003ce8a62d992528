"""What the unauthenticated routes may show: versions and metrics, never the machine's files.

``/model`` and the root page are open to anyone who reaches the port. The model's folder, the
service's download folders and load errors (which quote them) tell a visitor how the host is
laid out, so they stay in the service's log. BentoML's own API page loads Google Tag Manager,
so the page at ``/`` and ``/docs`` is likecast's: Swagger UI from the files BentoML's server
serves at ``/static_content/``, reading ``/docs.json`` (docs/adr/0043).
"""

from __future__ import annotations

EVENT_FIELDS = ("event", "from", "to", "serving", "version", "at", "worker")
# Swagger UI as BentoML's server ships it (its swagger-initializer.js reads ./docs.json),
# under likecast's name, with no script from another host and no link away.
API_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="UTF-8">
<title>likecast API</title>
<link rel="stylesheet" type="text/css" href="/static_content/swagger-ui.css" />
<link rel="stylesheet" type="text/css" href="/static_content/index.css" />
</head>
<body>
<div id="swagger-ui"></div>
<script src="/static_content/swagger-ui-bundle.js" charset="UTF-8"></script>
<script src="/static_content/swagger-ui-standalone-preset.js" charset="UTF-8"></script>
<script src="/static_content/swagger-initializer.js" charset="UTF-8"></script>
</body>
</html>
"""


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


def api_page() -> str:
    """The API's Swagger page."""
    return API_PAGE
