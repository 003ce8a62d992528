"""Connecting to the MLflow tracking store and registry, and nothing else.

Kept apart from ``training.tracking`` (which logs training runs and so imports the training
code, scikit-learn and matplotlib) because the service's registry downloads connect too
(``likecast serve`` before the workers start, and the ``serving.swap.fetch`` child): there only
MLflow itself should be loaded.
"""

from __future__ import annotations

import base64
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from likecast.errors import UserError
from likecast.redact import redact, without_userinfo
from likecast.settings import Settings


class TrackingError(UserError):
    """The tracking server or registry cannot do what was asked."""


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store and check it answers, failing in one line."""
    uri = settings.resolved_tracking_uri
    # Fail fast instead of MLflow's default minutes of retries against a dead server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    elif uri.startswith(("http://", "https://")):
        try:
            with urllib.request.urlopen(_health_request(uri), timeout=5) as reply:
                reply.read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise TrackingError(f"tracking server {redact(uri)} is unreachable ({exc})") from exc
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        client = MlflowClient(uri, uri)
        client._tracking_client.store  # noqa: B018 (opens the store: a missing driver fails here)
    except ImportError as exc:
        raise TrackingError(
            f"tracking store {redact(uri)}: its database driver is not installed "
            f"(no module {exc.name!r}); install it or use a tracking server"
        ) from exc
    return client


def _health_request(uri: str) -> urllib.request.Request:
    """The server's /health, with the URI's credentials as a header (urllib ignores them)."""
    bare, credentials = without_userinfo(uri)
    request = urllib.request.Request(f"{bare.rstrip('/')}/health")
    if credentials is not None:
        token = base64.b64encode(":".join(credentials).encode()).decode()
        request.add_header("Authorization", f"Basic {token}")
    return request
