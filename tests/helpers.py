"""What the tests share besides fixtures: free ports, waiting for a condition, real servers,
the `likecast` command, the service in-process, values made once per run for every xdist
worker, and the request bodies the API tests send.

Fixtures live in the conftest files; they build on these. A test that starts a server or a
subprocess through these helpers carries the marker that says so (``server``,
``subprocess``, ``browser``: pyproject.toml), which ``make test-fast`` leaves out.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import pickle
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import bentoml
import httpx
import pytest
from mlflow.tracking import MlflowClient

from likecast.settings import Settings
from models.mlflow_client import connect
from serving.api import demo

T = TypeVar("T")

BIN = Path(sys.executable).parent
TOKEN = "test-admin-token"  # the admin token of the services the tests start
# The settings of a model whose drift reference no test reads (promotion, the page, a
# registry's versions): built from fewer rows, as the defaults' 20,000 rows and 2,000 rows'
# SHAP values took a quarter of a 4,000-video training's CPU time.
UNMONITORED: dict[str, int] = {"drift_reference_rows": 1000, "drift_attribution_rows": 100}

# the bodies the README and `make demo` show, for a creator in the test store, at a fixed time
DRAFT = {
    **{k: v for k, v in demo.DRAFT.items() if k != "explain"},
    "creator_id": "c000003",
    "posted_at": "2026-07-01T20:00:00+08:00",
}
EARLY = {
    **demo.EARLY,
    **DRAFT,
    "earlier": [{"age_minutes": 30, "likes": 40}, {"age_minutes": 15, "likes": 12}],
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:
                if reply.status == 200:
                    return
        # not up yet; or another process answers on the port (free_port's race with the
        # machine's other servers): then ours exits, and the poll above says so
        except (OSError, http.client.HTTPException):
            time.sleep(0.3)
    raise TimeoutError(f"{url} not up after {timeout}s")


def wait_until(condition: Callable[[], object], timeout: float, what: str) -> object:
    """The first truthy value of ``condition()``, polled until ``timeout``; the condition
    decides, the pause between polls only spares the CPU."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = condition()
        if found:
            return found
        time.sleep(0.2)
    raise TimeoutError(f"no {what} after {timeout:.0f} s")


@contextmanager
def running(
    command: list[str],
    health_url: str,
    timeout: float,
    env: dict[str, str] | None = None,
    output: IO[str] | int = subprocess.DEVNULL,
) -> Iterator[subprocess.Popen]:
    """A real server in its own process group, once ``health_url`` answers; stopped after."""
    process = subprocess.Popen(
        command, env=env, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
    )
    try:
        wait_http(health_url, timeout, process)
        yield process
    finally:
        os.killpg(process.pid, 15)  # the server and the workers it started
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def empty_tracking_store() -> bytes:
    """An MLflow SQLite tracking store with its tables made and nothing in them, as bytes.

    Making the tables (SQLite, then every Alembic migration) costs 2 to 4 s of CPU at a store's
    first connect, in `mlflow server` and in-process alike. MLflow accepts a copy of this
    file as a store of its current schema and adds the Default experiment, with the copy's
    own artifact root, at the first connect (docs/facts.md).
    """
    # imported here: 1.4 s of CPU that a test process needing no store would pay at start
    import sqlalchemy
    from mlflow.store.db.utils import _initialize_tables

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "mlflow.db"
        engine = sqlalchemy.create_engine(f"sqlite:///{path}")
        try:
            _initialize_tables(engine)  # what MLflow's store runs on an empty database
        finally:
            engine.dispose()
        return path.read_bytes()


@contextmanager
def mlflow_server_in(folder: Path, store: Path) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port, with its store in ``folder``: a copy
    of ``store`` (the ``empty_store`` fixture), so the server makes no tables."""
    shutil.copyfile(store, folder / "server.db")
    port = free_port()
    command = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{folder / 'server.db'}",
        "--artifacts-destination",
        str(folder / "server-artifacts"),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    url = f"http://127.0.0.1:{port}"
    # without MLflow's job runner: five more processes (each importing MLflow) that no
    # test asks for
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with running(command, f"{url}/health", 90, env):
        yield url


def run_cli(
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = 300,
) -> subprocess.CompletedProcess:
    """The installed `likecast` command, as a user runs it.

    MLflow's ``set_tracking_uri``/``set_registry_uri`` write MLFLOW_TRACKING_URI and
    MLFLOW_REGISTRY_URI into this process's environment; a subprocess gets neither unless
    the test passes it.
    """
    leaked = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    base = {k: v for k, v in os.environ.items() if k not in leaked}
    return subprocess.run(
        [str(BIN / "likecast"), *args],
        capture_output=True,
        text=True,
        env={**base, **(env or {})},
        timeout=timeout,
    )


def once_per_run(factory: pytest.TempPathFactory, name: str, make: Callable[[], T]) -> T:
    """``make()``'s value, made once per run: the first pytest-xdist worker to ask makes it and
    pickles it into the run's temporary folder (which the workers share); the others wait for
    it and read it back. Without xdist, made here."""
    if "PYTEST_XDIST_WORKER" not in os.environ:
        return make()
    run = factory.getbasetemp().parent
    path = run / f"{name}.pickle"
    with (run / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        if path.exists():
            value: T = pickle.loads(path.read_bytes())
            return value
        value = make()
        path.write_bytes(pickle.dumps(value))  # under the lock: nobody reads it half-written
        return value


@dataclass(frozen=True)
class Result:
    """What ``likecast`` run in-process (the ``cli`` fixture) returned and printed."""

    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Both streams with rich's line wrapping undone."""
        return " ".join((self.out + " " + self.err).split())


def materialize(
    cli: Callable[..., Result], data: Path, store: Path, *options: str, env: dict[str, str]
) -> Result:
    """``likecast features materialize`` of ``data`` into ``store`` through the ``cli``
    fixture, with extra ``options`` and environment."""
    return cli(
        "features", "materialize", "--data", str(data), "--store", str(store), *options, env=env
    )


def client_for(home: Path) -> MlflowClient:
    """A client of the local tracking store in ``home`` (what `likecast train` writes to)."""
    uri = f"sqlite:///{home.resolve() / 'mlflow.db'}"
    return MlflowClient(uri, uri)


def broken_version(home: Path) -> str:
    """A registered version whose files are an MLflow model with an empty bundle."""
    source = home / "broken-model"
    (source / "bundle").mkdir(parents=True)
    (source / "MLmodel").write_text("flavors:\n  python_function:\n    data: bundle\n")
    client = client_for(home)
    client.create_registered_model("likecast")
    return client.create_model_version("likecast", str(source)).version


@dataclass
class Served:
    """A real `likecast serve` (``process``) at ``url``, its home and settings."""

    url: str
    home: Path
    settings: Settings
    process: subprocess.Popen

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30)

    def set_champion(self, version: str) -> None:
        connect(self.settings).set_registered_model_alias("likecast", "champion", version)


@dataclass
class InProcess:
    """The service in this process, serving the ``bundle_dir`` folder with the small data
    set's creator store; ``client()`` is its one test client, open for the session."""

    http: httpx.Client
    home: Path
    settings: Settings

    def client(self) -> _Open:
        return _Open(self.http)


class _Open:
    """``with service.client() as http:``, as with a real server, without closing it."""

    def __init__(self, http: httpx.Client) -> None:
        self.http = http

    def __enter__(self) -> httpx.Client:
        return self.http

    def __exit__(self, *exc: object) -> None:
        return None


@contextmanager
def service_in_process(env: dict[str, str]) -> Iterator[httpx.Client]:
    """The BentoML service on its ASGI app in this process (BentoML's in-process way of
    testing: ``TestClient(Service.to_asgi())``), started with ``env``'s settings.

    The same app `bentoml serve` runs in each worker, with every middleware and both
    BentoML's and the FastAPI routes; only the sockets and the worker processes are left
    out. The settings are read when the service starts, so ``env`` is set only for that.
    """
    # The service blocks scikit-learn's import when nothing imported it yet (a worker never
    # needs it); imported first, the training tests after this one still have it.
    import sklearn  # noqa: F401

    # BentoML keeps one current service per process, which the mounted pages read, and a
    # service's shutdown clears it: the one open before this one is made current again
    from _bentoml_sdk.service import get_current_service, set_current_service
    from starlette.testclient import TestClient

    # imported before the environment changes: its module-level settings (body limit,
    # metrics folder) are then the defaults, as in every other test of this process
    from serving.api.service import Likecast

    try:
        before = get_current_service()
    except bentoml.exceptions.BentoMLException:  # none open yet
        before = None
    app = Likecast.to_asgi()  # type: ignore[attr-defined]  # a bentoml Service
    client = TestClient(app, base_url="http://testserver")
    with pytest.MonkeyPatch.context() as patch:
        for key, value in env.items():
            patch.setenv(key, value)
        client.__enter__()  # runs the app's startup: the service and its model are made
    try:
        yield client
    finally:
        client.__exit__(None, None, None)
        set_current_service(before)
