"""Hot swap through an authenticated tracking server, both ways MLflow takes credentials.

A real ``mlflow server --app-name basic-auth`` (MLflow's own basic auth: an INI file named by
MLFLOW_AUTH_CONFIG_PATH, its admin made on first start) holds two versions. The commands and
the watcher log in with MLFLOW_TRACKING_USERNAME/PASSWORD; a real `likecast serve`
follows the champion with ``user:password@`` in its URI, swaps when it moves, and once its
user is deleted (every look answered 401) says on /readyz that the registry is out of reach.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import mlflow
import pytest
from mlflow.server.auth.client import AuthServiceClient
from mlflow.tracking import MlflowClient

from features.loading import Dataset, fingerprint
from likecast.settings import Settings
from serving.swap.fetch import AliasWatch
from tests.helpers import BIN, free_port, running, wait_until
from tests.serving.conftest import write_creator_store
from training.tracking import log_and_register
from training.train import TrainOutcome

pytestmark = pytest.mark.server

ADMIN, ADMIN_PASSWORD = "admin", "Adm1n-Passw0rd-for-tests"
WATCHER, WATCHER_PASSWORD = "watcher", "W4tcher-Passw0rd-for-tests"


@dataclass(frozen=True)
class Registry:
    """A basic-auth tracking server at ``url`` (no credentials in it) holding versions 1 and 2
    of ``likecast``, champion 1."""

    url: str

    def with_login(self, user: str, password: str) -> str:
        return self.url.replace("http://", f"http://{user}:{password}@")

    @property
    def admin(self) -> str:
        return self.with_login(ADMIN, ADMIN_PASSWORD)

    def set_champion(self, version: str) -> None:
        MlflowClient(self.admin, self.admin).set_registered_model_alias(
            "likecast", "champion", version
        )


@pytest.fixture(scope="module")
def registry(
    tmp_path_factory: pytest.TempPathFactory,
    trained: TrainOutcome,
    small_data: Path,
    small_dataset: Dataset,
) -> Iterator[Registry]:
    folder = tmp_path_factory.mktemp("auth-registry")
    config = folder / "basic_auth.ini"
    config.write_text(
        "[mlflow]\n"
        "default_permission = READ\n"
        f"database_uri = sqlite:///{folder / 'users.db'}\n"
        f"admin_username = {ADMIN}\n"
        f"admin_password = {ADMIN_PASSWORD}\n"
        "authorization_function = mlflow.server.auth:authenticate_request_basic_auth\n"
    )
    port = free_port()
    command = [
        str(BIN / "mlflow"), "server", "--app-name", "basic-auth",
        "--backend-store-uri", f"sqlite:///{folder / 'server.db'}",
        "--artifacts-destination", str(folder / "artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MLFLOW_AUTH_CONFIG_PATH": str(config),
        "MLFLOW_FLASK_SERVER_SECRET_KEY": "likecast-tests",  # the auth app's CSRF key
        "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
    }
    url = f"http://127.0.0.1:{port}"
    with running(command, f"{url}/health", 90, env):
        found = Registry(url)
        settings = Settings(home=folder / "home", tracking_uri=found.admin)
        first = log_and_register(
            trained, fingerprint(small_data, small_dataset), settings, "watcher", report=False
        )
        tags = MlflowClient(found.admin).get_model_version("likecast", first.version).tags
        mlflow.register_model(first.model_uri, "likecast", tags=tags)  # version 2
        found.set_champion(first.version)
        yield found


def test_commands_and_the_fetch_log_in_with_mlflows_variables(
    registry: Registry, cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the server's bare URI and MLflow's own credential variables
    login = {"MLFLOW_TRACKING_USERNAME": ADMIN, "MLFLOW_TRACKING_PASSWORD": ADMIN_PASSWORD}
    for key, value in {**login, "MLFLOW_TRACKING_URI": registry.url}.items():
        monkeypatch.setenv(key, value)
    # when a command lists the versions, then it logs in and lists both
    listed = cli("models")
    assert listed.code == 0, listed.text
    assert "@champion" in listed.text or "champion" in listed.text
    # when the watcher looks at the alias, moved to 2, then it sees the move
    settings = Settings(home=tmp_path)
    watch = AliasWatch(settings, settings.champion_uri)
    registry.set_champion("2")
    try:
        assert watch.may_have_moved({"1"}) is True
        assert watch.error is None
    finally:
        registry.set_champion("1")
    # given a wrong password, then the watcher keeps the 401 as its error
    monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "wrong-password")
    assert watch.may_have_moved({"1"}) is False
    assert "401" in str(watch.error)


def test_a_service_follows_an_authenticated_registry_and_says_when_it_cannot(
    registry: Registry, small_dataset: Dataset, tmp_path: Path
) -> None:
    # given a user of the registry, and a service following its champion with that user's
    # password in its tracking URI (which urllib once read as a host name)
    auth = AuthServiceClient(registry.admin)
    auth.create_user(WATCHER, WATCHER_PASSWORD)
    home = tmp_path / "home"
    write_creator_store(small_dataset, Settings(home=home))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    inherited = {
        k: v for k, v in os.environ.items() if not k.startswith(("LIKECAST_", "MLFLOW_TRACKING"))
    }
    env = {
        **inherited,
        "LIKECAST_HOME": str(home),
        "LIKECAST_TRACKING_URI": registry.with_login(WATCHER, WATCHER_PASSWORD),
        "LIKECAST_RELOAD_INTERVAL_S": "0.5",
        "LIKECAST_REGISTRY_UNREACHABLE_S": "1",
        "LIKECAST_SERVICE_WORKERS": "1",
    }
    command = [str(BIN / "likecast"), "serve", "--port", str(port)]
    with (
        (home / "serve.log").open("w") as log,
        running(command, f"{url}/readyz", 180, env, log),
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert http.get("/model").json()["model_version"] == "1"
        # when version 2 is promoted
        registry.set_champion("2")
        # then the service swaps to it
        wait_until(lambda: http.get("/model").json()["model_version"] == "2", 30, "the swap to 2")
        assert http.get("/readyz").status_code == 200
        # when the service's user is deleted (every look is refused from now on)
        auth.delete_user(WATCHER)
        # then /readyz says, in one line, that the registry is out of reach, and /model
        # counts the failed looks; the model still answers
        refused = wait_until(
            lambda: (r := http.get("/readyz")).status_code == 503 and r, 30, "a 503 on /readyz"
        )
        assert "registry has not answered" in refused.text
        assert WATCHER_PASSWORD not in refused.text
        assert http.get("/model").json()["registry_check"]["failures"] >= 1
    registry.set_champion("1")
