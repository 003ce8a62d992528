"""``likecast serve``: start the BentoML service with the model checked first."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from likecast.console import stderr
from likecast.settings import Settings, get_settings
from likecast.target import Target

app = typer.Typer()


@app.command("serve")
def serve_command(
    host: str | None = typer.Option(None, "--host", help="Bind address (default 127.0.0.1)."),
    port: int | None = typer.Option(None, "--port", help="Port (default 3000)."),
    model: str | None = typer.Option(
        None, "--model", help="Model folder or models:/ URI (default: the registry's champion)."
    ),
) -> None:
    """Serve predictions over HTTP with BentoML (runs until Ctrl-C)."""
    settings = get_settings()
    env = {
        **os.environ,
        # workers x LightGBM threads <= the cores LightGBM may use
        "OMP_NUM_THREADS": str(max(1, settings.lgbm_threads // settings.service_workers)),
        "BENTOML_DO_NOT_TRACK": "true",
    }
    if model:
        env["LIKECAST_MODEL_URI"] = model
    host = host or settings.host
    port = port or settings.port
    env["LIKECAST_HOST"], env["LIKECAST_PORT"] = host, str(port)
    folder = _service_folder(settings)
    env["LIKECAST_SERVICE_DIR"] = str(folder)
    uri = model or settings.model_uri or settings.champion_uri
    if uri.startswith("models:/"):
        target = _fetch_for_workers(uri, settings, folder)
    else:
        target = _check_folder(uri, settings)
    stderr().print(f"serving on http://{host}:{port} (page: http://{host}:{port}/ui)")
    _warn_unless_ready(target, settings)
    bentoml = Path(sys.executable).with_name("bentoml")
    args = [
        str(bentoml),
        "serve",
        "serving.api.service:Likecast",
        "--host",
        host,
        "--port",
        str(port),
    ]
    os.execve(args[0], args, env)


def _service_folder(settings: Settings) -> Path:
    """The folder this service's workers share, named by this process (BentoML's supervisor
    once it execs), with an empty ``metrics`` folder; those of stopped services are removed.
    """
    from serving.swap.workers_folder import service_folder, sweep_stopped_services

    folder = service_folder(settings.home, os.getpid())
    (folder / "metrics").mkdir(parents=True, exist_ok=True)
    sweep_stopped_services(folder)
    return folder


def _fetch_for_workers(uri: str, settings: Settings, folder: Path) -> Target:
    """Download the registry's model once, here, and name it to the workers in ``folder``.

    Without this each worker would start a fetch of its own (serving/swap/fetch.py), and
    MLflow loaded here is gone with the exec. A registry that cannot give the model fails
    the command in one line, before anything starts.
    """
    from serving.swap.fetch import download
    from serving.swap.workers_folder import WorkersFolder

    fetched = download(uri, settings, folder)
    target = _check_folder(fetched.folder, settings, name=f"{uri} (version {fetched.version})")
    WorkersFolder(folder, 0, settings.service_workers).commit(fetched)
    return target


def _check_folder(folder: str, settings: Settings, name: str | None = None) -> Target:
    """Load the model once here: a model no worker can load must fail the command in one
    line, not make BentoML restart crashing workers for ever. Returns what it predicts."""
    from models.bundle import BundleError
    from models.registry import load_model

    try:
        return load_model(folder, settings).bundle.spec.target
    except BundleError as exc:
        raise BundleError(f"{name}: {exc}" if name else str(exc)) from exc


def _warn_unless_ready(target: Target, settings: Settings) -> None:
    """Say at once when the creator store was built for another target: the service starts
    (the store can be materialized while it runs) but stays not ready, /readyz saying why."""
    from features.store import open_store

    problem = open_store(settings).target_problem(target)
    if problem is not None:
        stderr().print(f"warning: not ready until fixed: {problem}", soft_wrap=True)
