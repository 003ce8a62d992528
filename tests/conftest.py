"""Shared fixtures: a small simulated platform, a trained model, and real servers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import pytest

from features.loading import Dataset, load_dataset
from features.simulator import SimConfig, simulate, write_platform
from likecast.settings import Settings
from training.train import TrainOutcome, fit

BIN = Path(sys.executable).parent
SMALL = SimConfig(videos=4000, seed=11, window_days=60, pilot_videos=4000)


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
        except OSError:
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
def trained(small_dataset: Dataset, settings: Settings) -> TrainOutcome:
    return fit(small_dataset, settings, {"num_boost_round": 150})


@pytest.fixture(scope="session")
def bundle_dir(trained: TrainOutcome, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return trained.bundle.save(tmp_path_factory.mktemp("bundle") / "bundle")


@contextmanager
def mlflow_server_in(folder: Path) -> Iterator[str]:
    """A real `mlflow server` on a free loopback port, with its store in ``folder``."""
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
    with running(command, f"{url}/health", 90):
        yield url


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[str]:
    with mlflow_server_in(tmp_path) as url:
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


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        """Both streams with rich's line wrapping undone."""
        return " ".join((self.out + " " + self.err).split())


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]):
    """``likecast`` in-process through ``main(argv)``, with extra environment variables."""
    from likecast.cli import main

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
