"""Connecting to the MLflow tracking store and registry, and nothing else.

Kept apart from ``training.tracking`` (which logs training runs and so imports the training
code, scikit-learn and matplotlib) because the service's registry downloads connect too
(``likecast serve`` before the workers start, and the ``serving.fetch`` child): there only
MLflow itself should be loaded.
"""

from __future__ import annotations

import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

import mlflow
from mlflow.tracking import MlflowClient

from features.console import UserError
from features.settings import Settings


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
            with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=5) as reply:
                reply.read()
        except (urllib.error.URLError, OSError) as exc:
            raise TrackingError(f"tracking server {uri} is unreachable ({exc})") from exc
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    return MlflowClient(uri, uri)
