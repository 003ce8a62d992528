"""Cleaning up after a ``likecast train`` that was killed.

A killed train leaves its MLflow run RUNNING for ever and its temporary folder (plots, test
slice, bundle) in the system's temp directory. Each run records which process ran it (pid,
its start time, the host), and each temp folder is named by that pid; the next train marks
this experiment's runs whose process is gone FAILED and removes the folders of dead pids.
MLflow stages models and artifacts in temp folders of its own (``tempfile.mkdtemp``); while
a run is logged, ``temp_folder`` makes those land inside the run's folder, so they are swept
with it.
"""

from __future__ import annotations

import shutil
import socket
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
from mlflow.entities import RunStatus
from mlflow.tracking import MlflowClient

TEMP_PREFIX = "likecast-run-"
PID, STARTED, HOST = "likecast.pid", "likecast.pid_started", "likecast.host"


def owner_tags() -> dict[str, str]:
    """Tags that let a later train tell whether this run's process still lives."""
    me = psutil.Process()
    return {PID: str(me.pid), STARTED: str(int(me.create_time())), HOST: socket.gethostname()}


def temp_prefix() -> str:
    """A temp folder prefix naming this process, so a later train knows when it is stale."""
    return f"{TEMP_PREFIX}{psutil.Process().pid}-"


@contextmanager
def temp_folder() -> Iterator[Path]:
    """A temp folder named by this process, which every temporary file or folder made
    meanwhile (MLflow's staging too) lands in; removed after, or by the next train if this
    process is killed."""
    folder = Path(tempfile.mkdtemp(prefix=temp_prefix()))
    before = tempfile.tempdir
    tempfile.tempdir = str(folder)
    try:
        yield folder
    finally:
        tempfile.tempdir = before
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int, started: int | None = None) -> bool:
    try:
        process = psutil.Process(pid)
        return started is None or int(process.create_time()) == started
    except psutil.Error:
        return False


def fail_orphaned_runs(client: MlflowClient, experiment: str) -> list[str]:
    """Mark RUNNING runs of ``experiment`` started here by a process that is gone FAILED."""
    found = client.get_experiment_by_name(experiment)
    if found is None:
        return []
    running = client.search_runs(
        [found.experiment_id],
        filter_string=f"attributes.status = 'RUNNING' and tags.`{PID}` != ''",
    )
    failed = []
    for run in running:
        tags = run.data.tags
        if tags.get(HOST) != socket.gethostname():
            continue  # another machine's process: not ours to judge
        pid, started = tags.get(PID, ""), tags.get(STARTED, "")
        if not pid.isdigit() or _alive(int(pid), int(started) if started.isdigit() else None):
            continue
        client.set_terminated(run.info.run_id, RunStatus.to_string(RunStatus.FAILED))
        failed.append(run.info.run_id)
    return failed


def remove_stale_temp_folders(folder: Path | None = None) -> list[Path]:
    """Remove ``likecast-run-<pid>-*`` folders whose process is gone."""
    removed = []
    for path in Path(folder or tempfile.gettempdir()).glob(f"{TEMP_PREFIX}*-*"):
        pid = path.name.removeprefix(TEMP_PREFIX).split("-", 1)[0]
        if path.is_dir() and pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed
