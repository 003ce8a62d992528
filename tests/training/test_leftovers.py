"""A killed `likecast train` leaves nothing behind for long: the next one cleans up after it."""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

from tests.helpers import BIN, client_for, wait_until

pytestmark = pytest.mark.subprocess


def _runs(client: MlflowClient) -> list:
    experiment = client.get_experiment_by_name("leftovers")
    return client.search_runs([experiment.experiment_id]) if experiment else []


@pytest.mark.usefixtures("tracking_store")  # its home, the tables made
def test_a_killed_train_is_marked_failed_and_its_temp_folder_removed_by_the_next(
    small_data: Path, tmp_path: Path, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a train that was killed (SIGKILL) once its MLflow run and temp folder existed
    home, tmp = tmp_path / "home", tmp_path / "tmp"
    tmp.mkdir()
    params = tmp_path / "fast.json"
    params.write_text('{"num_boost_round": 60}')
    leaked = ("MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    env = {k: v for k, v in os.environ.items() if k not in leaked}
    env |= {"LIKECAST_HOME": str(home), "TMPDIR": str(tmp)}
    args = ["train", "--data", str(small_data), "--params", str(params)]
    command = [str(BIN / "likecast"), *args, "--experiment", "leftovers"]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        # the temp folder comes first, then the run; once the folder exists, the tracking
        # database has its tables (opening it earlier would race its creation)
        folders = wait_until(lambda: list(tmp.glob("likecast-run-*")), 300, "temp folder")
        client = client_for(home)
        run = wait_until(lambda: next(iter(_runs(client)), None), 300, "run")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert client.get_run(run.info.run_id).info.status == "RUNNING"
    # when the next train starts (in this process: the killed one crossed the line), with
    # the same temp directory
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    second = cli(*args, "--experiment", "leftovers", env={"LIKECAST_HOME": str(home)})
    assert second.code == 0, second.text
    # then the killed run is FAILED, its temp folder gone, and the new run FINISHED
    status = client.get_run(run.info.run_id).info.status
    assert status == RunStatus.to_string(RunStatus.FAILED)
    assert not any(folder.exists() for folder in folders)
    statuses = sorted(r.info.status for r in _runs(client))
    assert statuses == ["FAILED", "FINISHED"]
