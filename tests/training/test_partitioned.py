"""Training on a Dask cluster, partition by partition: a real `dask scheduler` and two
`dask worker` processes started from the command line, as a user would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from dask.distributed import Client

from features.store import CreatorStore
from likecast.settings import Settings
from models.estimator import to_matrix
from models.registry import LoadedModel
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from tests.helpers import BIN, free_port, running
from training.metrics import score
from training.partitioned import fit_partitioned
from training.train import TrainOutcome

# a scheduler and workers, and `likecast` in a child process
pytestmark = [pytest.mark.server, pytest.mark.subprocess]

ROUNDS = {"num_boost_round": 150}
VIDEO = {"creator_id": "c000003", "category": "food", "duration_s": 35.0, "creator_followers": 1200}


def split_by_creator(data: Path, out: Path, parts: int) -> Path:
    """A single-file data set as ``parts`` Parquet parts, each holding whole creators."""
    videos = pd.read_parquet(data / "videos.parquet")
    snapshots = pd.read_parquet(data / "snapshots.parquet")
    owner = pd.util.hash_array(videos["creator_id"].to_numpy(dtype=object)) % parts
    for i in range(parts):
        mine = videos[owner == i]
        for table, frame in (
            ("videos", mine),
            ("snapshots", snapshots[snapshots["video_id"].astype(str).isin(mine["video_id"])]),
        ):
            (out / table).mkdir(parents=True, exist_ok=True)
            frame.to_parquet(out / table / f"part-{i:05d}.parquet", index=False)
    return out


@contextmanager
def dask_cluster(folder: Path) -> Iterator[tuple[str, dict[str, subprocess.Popen]]]:
    """A scheduler and two single-threaded workers, each its own process, on loopback."""
    port, dashboard = free_port(), free_port()
    address = f"tcp://127.0.0.1:{port}"
    health = f"http://127.0.0.1:{dashboard}/health"
    workers = {}
    with ExitStack() as stack:
        stack.enter_context(
            running(
                [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", f"127.0.0.1:{dashboard}"],
                health,
                60,
            )
        )  # fmt: skip
        for name in ("w1", "w2"):
            workers[name] = stack.enter_context(
                running(
                    [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--name", name,
                     "--no-dashboard", "--local-directory", str(folder / name)],
                    health,
                    60,
                )
            )  # fmt: skip
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        yield address, workers


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with dask_cluster(tmp_path_factory.mktemp("dask")) as (address, _workers):
        yield address


@pytest.fixture(scope="module")
def parts(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return split_by_creator(small_data, tmp_path_factory.mktemp("parts"), 3)


@pytest.fixture(scope="module")
def on_cluster(
    parts: Path, scheduler: str, tmp_path_factory: pytest.TempPathFactory
) -> TrainOutcome:
    settings = Settings(home=tmp_path_factory.mktemp("dask-home"))
    with Client(scheduler) as client:
        outcome, _ = fit_partitioned(
            parts, settings, ROUNDS, client, tmp_path_factory.mktemp("work")
        )
    return outcome


def _by_row(outcome: TrainOutcome) -> pd.DataFrame:
    """The test slice's features, keyed by video and age, in one order."""
    frame = outcome.test_features.assign(video_id=outcome.test_rows["video_id"].to_numpy())
    return frame.sort_values(["video_id", "age_minutes"]).set_index(["video_id", "age_minutes"])


def test_partitions_give_the_local_features_for_the_same_rows(
    on_cluster: TrainOutcome, trained: TrainOutcome
) -> None:
    # given the same data trained on locally, with the same rounds: the session's model
    # (the parts are its single-file data split by creator)
    local = trained
    # then the slices hold the same examples, cut at the same moments
    assert on_cluster.summary["rows"] == local.summary["rows"]
    assert on_cluster.summary["decided_rows"] == local.summary["decided_rows"]
    assert on_cluster.bundle.meta.split_cutoffs == local.bundle.meta.split_cutoffs
    assert on_cluster.bundle.meta.category_rates == local.bundle.meta.category_rates
    # and every feature of every test row is the local one, up to the spec's float sums
    ours, theirs = _by_row(on_cluster), _by_row(local)
    assert ours.index.equals(theirs.index)
    np.testing.assert_allclose(to_matrix(ours), to_matrix(theirs), rtol=1e-12, atol=1e-12)
    # and the models agree within the documented tolerance (docs/adr/0035)
    auc = {k: o.metrics["test_roc_auc"] for k, o in (("dask", on_cluster), ("local", local))}
    assert abs(auc["dask"] - auc["local"]) < 0.01, auc


def test_partitions_give_the_local_like_curves_and_timing(
    on_cluster: TrainOutcome, trained: TrainOutcome, settings: Settings, tmp_path: Path
) -> None:
    # given the same data trained on locally and on the cluster, partition by partition
    ours, theirs = on_cluster.bundle.curves, trained.bundle.curves
    # then the curves are the local ones exactly: the same train videos' values, and a
    # quantile does not depend on their order; the timing too, its videos resampled in the
    # same order with the same seed
    assert ours.timing is not None
    assert ours.timing.groups, "the simulator's hourly snapshots time the likes"
    assert ours == theirs
    # and the cluster's model compares an early answer and says when the audience likes
    predictor = Predictor(
        LoadedModel(on_cluster.bundle, "folder", None, None),
        CreatorStore(tmp_path / "no-store.sqlite"),
        settings,
    )
    answer = predictor.predict([Early(**VIDEO, age_minutes=60.0, likes=30)])[0]
    assert answer.compared is not None
    whatif = predictor.whatif(Draft(**VIDEO, posted_at="2026-07-01T20:00:00+00:00"))
    assert whatif.audience is not None
    assert whatif.audience.known


def test_down_sampled_negatives_still_give_calibrated_answers(
    parts: Path, scheduler: str, tmp_path: Path, on_cluster: TrainOutcome
) -> None:
    # given a booster that saw only a quarter of the negative examples
    settings = Settings(home=tmp_path / "home")
    with Client(scheduler) as client:
        sampled, _ = fit_partitioned(parts, settings, ROUNDS, client, tmp_path / "work", 0.25)
    assert sampled.summary["booster_rows"] < 0.5 * sampled.summary["rows"]["train"]
    # when its answers and its raw booster's are compared with the test labels
    y = sampled.test_predictions["y"]
    answers = sampled.test_predictions["lightgbm"]
    raw = sampled.bundle.booster.predict(to_matrix(sampled.test_features))
    # then the raw booster overstates the hit rate (what the correction is for)
    assert raw.mean() > 1.2 * y.mean()
    # and the served answers match it, as well calibrated as the full model's
    assert abs(answers.mean() - y.mean()) < 0.02
    full = on_cluster.test_predictions
    assert score(y, answers)["ece"] < score(full["y"], full["lightgbm"])["ece"] + 0.02
    assert sampled.params["negative_rate"] == 0.25


@pytest.mark.usefixtures("tracking_store")  # its home, the tables made
def test_training_through_a_scheduler_registers_a_version(
    parts: Path, scheduler: str, tmp_path: Path, cli
) -> None:
    # given partitioned data and a running cluster
    env = {"LIKECAST_HOME": str(tmp_path / "home")}
    # when a user trains through the scheduler (`likecast` in this process: the cluster's
    # processes are the line crossed here)
    trained = cli(
        "train", "--data", str(parts), "--params", str(_rounds_file(tmp_path)), "--engine",
        "dask", "--scheduler", scheduler, env=env,
    )  # fmt: skip
    # then a version is registered, and the passes' work folder is gone
    assert trained.code == 0, trained.text
    assert "registered likecast version 1" in trained.text
    assert not any((tmp_path / "home" / "work").iterdir())
    # and the registered version loads from the registry and separates hits from the rest
    result = cli(
        "evaluate", "--model", "models:/likecast/1", "--data", str(parts),
        "--output", str(tmp_path / "dask.json"), env=env,
    )  # fmt: skip
    assert result.code == 0, result.text
    assert json.loads((tmp_path / "dask.json").read_text())["all"]["roc_auc"] > 0.9


def _rounds_file(folder: Path) -> Path:
    path = folder / "rounds.json"
    path.write_text(json.dumps(ROUNDS))
    return path


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        ("creator in two parts", "appears in parts part-00000 and part-00001"),
        ("unmatched part", "unmatched: part-00002.parquet"),
    ],
)
def test_data_not_partitioned_by_creator_is_refused_in_one_line(
    parts: Path, scheduler: str, tmp_path: Path, damage: str, message: str, cli
) -> None:
    # given partitioned data with one flaw
    data = tmp_path / "data"
    for table in ("videos", "snapshots"):
        (data / table).mkdir(parents=True)
        for part in sorted((parts / table).glob("*.parquet")):
            (data / table / part.name).write_bytes(part.read_bytes())
    if damage == "creator in two parts":
        first = pd.read_parquet(data / "videos" / "part-00000.parquet")
        second = pd.read_parquet(data / "videos" / "part-00001.parquet")
        second.loc[second.index[0], "creator_id"] = first["creator_id"].iloc[0]
        second.to_parquet(data / "videos" / "part-00001.parquet", index=False)
    else:
        (data / "snapshots" / "part-00002.parquet").unlink()
    # when a user trains on it through the scheduler
    result = cli("train", "--data", str(data), "--engine", "dask", "--scheduler", scheduler)
    # then the command fails with one line that says why
    assert result.code != 0
    assert message in result.text
    assert "Traceback" not in result.text


@pytest.mark.usefixtures("tracking_store")  # its home, the tables made
def test_a_worker_killed_mid_run_is_replaced_or_the_run_fails_in_one_line(
    parts: Path, tmp_path: Path
) -> None:
    # given a cluster of two workers and a user training on it
    with dask_cluster(tmp_path / "dask") as (address, workers):
        home = tmp_path / "home"
        train = subprocess.Popen(
            [str(BIN / "likecast"), "train", "--data", str(parts), "--engine", "dask",
             "--scheduler", address],
            env={**os.environ, "LIKECAST_HOME": str(home)},
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        # when one worker is killed while it runs a task of the run
        with Client(address) as watcher:
            deadline = time.monotonic() + 120
            while not any(watcher.processing().values()):
                assert time.monotonic() < deadline, "no task ran"
                assert train.poll() is None, train.communicate()
                time.sleep(0.05)
            os.killpg(workers["w2"].pid, signal.SIGKILL)
        out, err = train.communicate(timeout=600)
    text = " ".join((out + err).split())
    # then the run either finishes on the worker left, registering one version, or fails
    # with one line and registers nothing; never a traceback
    assert "Traceback" not in text
    if train.returncode == 0:
        assert "registered likecast version 1" in text
    else:
        assert "training on the Dask cluster failed, nothing was registered" in text
        assert "registered likecast version" not in text
