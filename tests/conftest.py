"""Shared fixtures: a small simulated platform, a trained model, and real servers.

The helpers they build on (ports, waiting, servers, the CLI) are in ``tests/helpers.py``;
they are named here too, for the tests that import them from this module.
"""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from features.loading import Dataset, load_dataset
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from likecast.settings import Settings
from tests.helpers import (
    BIN,
    Result,
    empty_tracking_store,
    free_port,
    mlflow_server_in,
    once_per_run,
    run_cli,
    running,
    wait_http,
    wait_until,
)
from training.train import TrainOutcome, fit

# named here for the tests that import them from this module
__all__ = ["BIN", "Result", "free_port", "mlflow_server_in", "run_cli", "running", "wait_http",
           "wait_until"]  # fmt: skip

SMALL = SimConfig(videos=4000, seed=11, window_days=60, pilot_videos=4000)


# The markers that say a test starts processes (pyproject.toml); `make test-fast` runs none.
STARTERS = ("server", "browser", "subprocess")
# Processes started so far, as Python reports them to audit hooks (subprocess.Popen is how
# `subprocess.run`, asyncio and Playwright start one; os.fork and posix_spawn the others).
_STARTED: list[str] = []
_START_EVENTS = frozenset({"subprocess.Popen", "os.fork", "os.forkpty", "os.posix_spawn"})


def _audit(event: str, args: tuple) -> None:
    if event in _START_EVENTS:
        _STARTED.append(f"{event} {args[0] if args else ''}")


sys.addaudithook(_audit)

# What a file's tests start, the costliest first (the markers of pyproject.toml).
COSTLIEST_FIRST = ("browser", "server", "subprocess", "slow")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The files whose tests start processes first, then the slow ones, then the rest.

    `make test` hands files out in this order (``--dist loadfile --no-loadscope-reorder``):
    the long files start at once and the many short in-process ones fill both workers at the
    end. pytest-xdist's own order, the files of most tests first, handed out last the files of
    a few long tests (promotion, Dask training) while the other worker idled (docs/adr/0046).
    The sort is stable: files of one kind, and each file's tests, keep their order.
    """
    rank: dict[Path, int] = {}
    for item in items:
        starts = [i for i, mark in enumerate(COSTLIEST_FIRST) if item.get_closest_marker(mark)]
        mine = min(starts, default=len(COSTLIEST_FIRST))
        rank[item.path] = min(rank.get(item.path, mine), mine)
    items.sort(key=lambda item: rank[item.path])


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item: pytest.Item):
    return (yield from _starts_only_if_marked(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item):
    return (yield from _starts_only_if_marked(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item):
    return (yield from _starts_only_if_marked(item))


def _starts_only_if_marked(item: pytest.Item):
    """A test (its fixtures included) that starts a process must say so by its marker."""
    before = len(_STARTED)
    result = yield
    started = _STARTED[before:]
    if started and not any(item.get_closest_marker(name) for name in STARTERS):
        pytest.fail(
            f"started {len(started)} process(es) ({started[0]}) without a marker of "
            f"{STARTERS}: mark it, so `make test-fast` leaves it out",
            pytrace=False,
        )
    return result


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test gets its own state directory; nothing leaks into the checkout."""
    monkeypatch.setenv("LIKECAST_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    monkeypatch.delenv("LIKECAST_TRACKING_URI", raising=False)


@pytest.fixture(scope="session")
def small_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small-data")
    write_platform(simulate(SMALL), out)
    return out


@pytest.fixture(scope="session")
def small_dataset(small_data: Path) -> Dataset:
    return load_dataset(small_data)


@pytest.fixture(scope="session")
def settings() -> Settings:
    return Settings(home=Path("/nonexistent-likecast-home"))


@pytest.fixture(scope="session")
def trained(
    small_dataset: Dataset, settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> TrainOutcome:
    """The small data set's model, trained once per run and shared by the xdist workers
    (training is deterministic: ``tests/models/test_behaviour.py`` trains it again)."""
    return once_per_run(
        tmp_path_factory, "trained", lambda: fit(small_dataset, settings, {"num_boost_round": 150})
    )


@pytest.fixture(scope="session")
def bundle_dir(trained: TrainOutcome, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained.bundle.save(tmp_path_factory.mktemp("bundle") / "bundle")


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An MLflow store file with its tables and nothing else, made once per run; a test or
    fixture that needs a fresh store copies it (``tracking_store``, ``mlflow_server_in``)."""
    path = tmp_path_factory.mktemp("empty-store") / "mlflow.db"
    path.write_bytes(once_per_run(tmp_path_factory, "empty-store", empty_tracking_store))
    return path


@pytest.fixture
def tracking_store(empty_store: Path, tmp_path: Path) -> Path:
    """This test's home (``LIKECAST_HOME``) holding an empty MLflow store: `likecast train`,
    `monitor` and ``client_for(home)`` find its tables made."""
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    shutil.copyfile(empty_store, home / "mlflow.db")
    return home


@pytest.fixture
def mlflow_server(tmp_path: Path, empty_store: Path) -> Iterator[str]:
    with mlflow_server_in(tmp_path, empty_store) as url:
        yield url


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``likecast`` in-process through ``main(argv)``, with extra environment variables."""
    from serving.cli import main

    def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        capsys.readouterr()
        code = main(list(args))
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return invoke


@pytest.fixture
def score(cli, small_data: Path, tmp_path: Path):
    """``likecast score`` of the small data set into ``tmp_path/scores.csv``, plus options."""

    def run(*options: str):
        videos = str(small_data / "videos.parquet")
        return cli("score", "--input", videos, "--output", str(tmp_path / "scores.csv"), *options)

    return run
