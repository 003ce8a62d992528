"""The service three ways: in this process on a model folder (``service``), and as a real
`likecast serve` (BentoML) of a real `mlflow server`'s champion (``served``) or of a model
folder (``served_rich``, ``served_folder``). Each is started once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.loading import Dataset, fingerprint, load_dataset
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from features.store import data_end, history_timeline, write_store
from likecast.settings import Settings
from models.mlflow_client import connect
from tests.helpers import (
    BIN,
    TOKEN,
    UNMONITORED,
    InProcess,
    Served,
    free_port,
    mlflow_server_in,
    running,
    service_in_process,
)
from training.tracking import log_and_register
from training.train import TrainOutcome, fit

__all__ = ["TOKEN", "Served"]  # named here for the tests that import them from this module


@pytest.fixture(scope="session")
def service(
    bundle_dir: Path, small_dataset: Dataset, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[InProcess]:
    """The service on its ASGI app in this process (no server, no subprocess)."""
    home = tmp_path_factory.mktemp("in-process-home")
    settings = Settings(home=home, model_uri=str(bundle_dir))
    write_creator_store(small_dataset, settings)
    env = {
        "LIKECAST_HOME": str(home),
        "LIKECAST_MODEL_URI": str(bundle_dir),
        "LIKECAST_SERVICE_DIR": str(home / "service"),
        "LIKECAST_ADMIN_TOKEN": TOKEN,
    }
    with service_in_process(env) as http:
        yield InProcess(http, home, settings)


@pytest.fixture(scope="session")
def served(
    trained: TrainOutcome,
    small_data: Path,
    small_dataset: Dataset,
    tmp_path_factory: pytest.TempPathFactory,
    empty_store: Path,
) -> Iterator[Served]:
    with mlflow_server_in(tmp_path_factory.mktemp("registry"), empty_store) as registry:
        yield from _serve(registry, trained, small_data, small_dataset, tmp_path_factory)


def _serve(
    registry: str,
    trained: TrainOutcome,
    small_data: Path,
    small_dataset: Dataset,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    home = tmp_path_factory.mktemp("serve-home")
    settings = Settings(home=home, tracking_uri=registry)
    # without plots and report: the service reads neither (tests/training checks them)
    registered = log_and_register(
        trained, fingerprint(small_data, small_dataset), settings, "serving-tests", report=False
    )
    connect(settings).set_registered_model_alias("likecast", "champion", registered.version)
    env = {
        "LIKECAST_ADMIN_TOKEN": TOKEN,
        "LIKECAST_RELOAD_INTERVAL_S": "1",
        "LIKECAST_TRACKING_URI": settings.tracking_uri,
    }
    yield from _store_and_serve(small_dataset, settings, env)


def write_creator_store(dataset: Dataset, settings: Settings) -> None:
    """The creator store of ``dataset`` in ``settings.home``, as `features materialize` makes."""
    history = history_timeline(
        dataset, data_end(dataset), 1000, settings.horizon_minutes, settings.history_window
    )
    write_store(history, settings.store_path)


def _store_and_serve(dataset: Dataset, settings: Settings, env: dict[str, str]) -> Iterator[Served]:
    """The creator store of ``dataset`` in ``settings.home``, and `likecast serve` on it."""
    write_creator_store(dataset, settings)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    command = [str(BIN / "likecast"), "serve", "--port", str(port)]
    # only the settings given here: none of the developer's own LIKECAST_* leak in
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIKECAST_")}
    environment = {**inherited, "LIKECAST_HOME": str(settings.home), **env}
    with (
        (settings.home / "serve.log").open("w") as log,
        running(command, f"{url}/readyz", 180, environment, log) as process,
    ):
        yield Served(url, settings.home, settings, process)


# A model whose draft lessons are measured, for the round trip a creator makes on the page
# (draft -> advice -> change -> better answer). On the 4,000-video fixture the draft age falls
# back to the early-count rule, which a draft cannot change; on this platform, where a fifth of
# the videos reach the bar, video length is measured to matter at t = 4 (docs/adr/0032).
RICH = SimConfig(videos=50_000, seed=11, window_days=60, pilot_videos=4000, hit_share=0.2)


@pytest.fixture(scope="session")
def served_rich(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real `likecast serve` of a model trained on ``RICH``, from a bundle folder."""
    data = tmp_path_factory.mktemp("rich-data")
    write_platform(simulate(RICH), data)
    dataset = load_dataset(data)
    home = tmp_path_factory.mktemp("rich-home")
    settings = Settings(home=home, **UNMONITORED)
    trained = fit(dataset, settings, {"num_boost_round": 150})
    folder = trained.bundle.save(home / "bundle")
    # a folder, not the registry: no tracking server to poll
    yield from _store_and_serve(dataset, settings, {"LIKECAST_MODEL_URI": str(folder)})


@pytest.fixture(scope="session")
def served_folder(bundle_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A real `likecast serve` of the ``bundle_dir`` folder with two workers, in a home that
    has no creator store: live, never ready (so waited for on /livez)."""
    home = tmp_path_factory.mktemp("folder-home")
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if not k.startswith("LIKECAST_")}
    env = {**inherited, "LIKECAST_HOME": str(home), "LIKECAST_SERVICE_WORKERS": "2"}
    command = [str(BIN / "likecast"), "serve", "--port", str(port), "--model", str(bundle_dir)]
    url = f"http://127.0.0.1:{port}"
    with (
        (home / "serve.log").open("w") as log,
        running(command, f"{url}/livez", 180, env, log) as process,
    ):
        yield Served(url, home, Settings(home=home), process)
