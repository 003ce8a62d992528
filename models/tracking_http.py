"""A tracking server's REST API with MLflow's credentials, for processes that do not import MLflow.

MLflow's client authenticates from the URI's ``user:password@``, from
``MLFLOW_TRACKING_USERNAME``/``MLFLOW_TRACKING_PASSWORD`` (or ``~/.mlflow/credentials``), or
from ``MLFLOW_TRACKING_TOKEN`` (mlflow/utils/credentials.py, ``get_default_host_creds``; and
mlflow/utils/rest_utils.py, which sends Basic before Bearer). The service's workers never
import MLflow (a worker would double in size), yet their alias watcher asks the same server:
it reads the same credentials the same way here, so every command and the watcher log in
alike (docs/adr/0005).
"""

from __future__ import annotations

import base64
import configparser
import json
import os
import ssl
import urllib.request
from pathlib import Path
from typing import Any

from likecast.redact import without_userinfo


def authorization(uri: str) -> str | None:
    """The ``Authorization`` header MLflow would send to the server at ``uri``, if any."""
    _bare, in_uri = without_userinfo(uri)
    user, password = in_uri if in_uri is not None else _configured_login()
    if user and password:
        return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
    token = os.environ.get("MLFLOW_TRACKING_TOKEN")
    return f"Bearer {token}" if token else None


def _configured_login() -> tuple[str | None, str | None]:
    """MLflow's order: each of the environment's variables, else the credentials file's."""
    from_file: dict[str, str] = {}
    path = Path(os.path.expanduser("~/.mlflow/credentials"))
    if path.is_file():
        config = configparser.ConfigParser()
        try:
            config.read(path)
        except configparser.Error:
            pass  # MLflow would fail on it too; without it no login is sent
        else:
            from_file = dict(config["mlflow"]) if "mlflow" in config else {}
    user = os.environ.get("MLFLOW_TRACKING_USERNAME") or from_file.get("mlflow_tracking_username")
    password = os.environ.get("MLFLOW_TRACKING_PASSWORD") or from_file.get(
        "mlflow_tracking_password"
    )
    return user, password


def request(uri: str, path: str) -> urllib.request.Request:
    """A GET of ``path`` on the server at ``uri``, without the URI's credentials in the URL
    (urllib would read ``user:pw@host`` as a host name) and with MLflow's in a header."""
    bare, _ = without_userinfo(uri)
    made = urllib.request.Request(f"{bare.rstrip('/')}/{path.lstrip('/')}")
    header = authorization(uri)
    if header is not None:
        made.add_header("Authorization", header)
    return made


def tls_context() -> ssl.SSLContext | None:
    """MLflow's TLS settings: ``MLFLOW_TRACKING_INSECURE_TLS``, ``..._SERVER_CERT_PATH``,
    ``..._CLIENT_CERT_PATH``; None leaves urllib's default."""
    insecure = os.environ.get("MLFLOW_TRACKING_INSECURE_TLS", "").lower() in ("true", "1")
    server_cert = os.environ.get("MLFLOW_TRACKING_SERVER_CERT_PATH")
    client_cert = os.environ.get("MLFLOW_TRACKING_CLIENT_CERT_PATH")
    if not (insecure or server_cert or client_cert):
        return None
    context = ssl.create_default_context(cafile=server_cert)
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if client_cert:
        context.load_cert_chain(client_cert)
    return context


def get_json(uri: str, path: str, timeout_s: float) -> Any:
    """The JSON the server at ``uri`` answers to a GET of ``path``."""
    with urllib.request.urlopen(
        request(uri, path), timeout=timeout_s, context=tls_context()
    ) as reply:
        return json.load(reply)


def get(uri: str, path: str, timeout_s: float) -> bytes:
    """The body the server at ``uri`` answers to a GET of ``path``."""
    with urllib.request.urlopen(
        request(uri, path), timeout=timeout_s, context=tls_context()
    ) as reply:
        return bytes(reply.read())
