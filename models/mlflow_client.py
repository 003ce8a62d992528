"""Connecting to the MLflow tracking store and registry, and nothing else.

Kept apart from ``training.tracking`` (which logs training runs and so imports the training
code, scikit-learn and matplotlib) because the service's registry downloads connect too
(``likecast serve`` before the workers start, and the ``serving.swap.fetch`` child): there only
MLflow itself should be loaded.
"""

from __future__ import annotations

import logging
import os
import tempfile
import time
import urllib.error
from pathlib import Path
from urllib.parse import urlsplit

import mlflow
from mlflow.tracking import MlflowClient

from likecast.errors import UserError
from likecast.redact import redact
from likecast.settings import Settings
from models import tracking_http


class TrackingError(UserError):
    """The tracking server or registry cannot do what was asked."""


# the stores MLflow 3 runs likecast's registry on: a tracking server or a database
SUPPORTED_SCHEMES = ("http", "https", "sqlite", "postgresql", "mysql", "mssql")


def connect(settings: Settings) -> MlflowClient:
    """Point MLflow at the configured store and check it answers, failing in one line."""
    uri = settings.resolved_tracking_uri
    check_uri(uri, settings)
    # Fail fast instead of MLflow's default minutes of retries against a dead server.
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    elif uri.startswith(("http://", "https://")):
        try:
            tracking_http.get(uri, "health", timeout_s=5)
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


def check_uri(uri: str, settings: Settings) -> None:
    """Refuse, before anything runs, a tracking URI likecast cannot keep a registry in.

    ``file:`` and bare paths are MLflow's deprecated file store, which errors in MLflow 3
    (and has no registry aliases); ``databricks`` needs a workspace this code never logs in
    to. A SQLite file may be new, but not its folder: a mistyped path would otherwise make
    folders and an empty registry and report success. Only the default store in the home
    makes its folder (the home is likecast's own).
    """
    scheme = urlsplit(uri).scheme.lower().partition("+")[0]
    if scheme not in SUPPORTED_SCHEMES:
        given = f"a {scheme}: URI" if scheme else "a path"
        raise TrackingError(
            f"tracking URI {redact(uri)} is {given}, which likecast cannot keep a registry in; "
            "use a tracking server (http:// or https://), sqlite:///FILE, or a database URI "
            "(postgresql://, mysql://, mssql://)"
        )
    if scheme in ("http", "https") and urlsplit(uri).query:
        raise TrackingError(
            f"tracking URI {redact(uri)}: a tracking server's URI takes no query string "
            "(MLflow appends its API paths to it); give a token as MLFLOW_TRACKING_TOKEN, "
            "or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD"
        )
    if scheme == "sqlite" and uri.startswith("sqlite:///"):
        db = Path(uri.removeprefix("sqlite:///").partition("?")[0])
        if db.parent != settings.home.resolve() and not db.parent.is_dir():
            raise TrackingError(
                f"tracking URI {redact(uri)}: folder {db.parent} does not exist; create it "
                "or correct the path"
            )


def check_writable(client: MlflowClient, experiment_id: str, settings: Settings) -> None:
    """Write to the tracking store now (a tag on the experiment), so a store that is
    read-only, full or gone fails before a training's minutes of work, not after them."""
    from mlflow.exceptions import MlflowException

    uri = settings.resolved_tracking_uri
    try:
        client.set_experiment_tag(experiment_id, "likecast.writable_at", str(int(time.time())))
    except MlflowException as exc:
        raise TrackingError(
            f"tracking store {redact(uri)} does not take writes ({exc.message}); "
            "nothing was trained"
        ) from exc
    if uri.startswith("sqlite:"):  # its artifacts are files under the home
        root = settings.artifact_root
        try:
            root.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=root, prefix=".writable-"):
                pass
        except OSError as exc:
            raise TrackingError(
                f"artifact folder {root} does not take writes ({exc.strerror}); nothing was trained"
            ) from exc
