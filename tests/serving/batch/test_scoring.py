"""Batch scoring across a process line: `likecast score` in a child process, on Dask's local
processes, and killed mid-write. In this process: ``test_score_files.py``."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.loading import Dataset
from features.prediction_log import FOLDER, log_folder, read_log
from tests.helpers import BIN, run_cli

pytestmark = pytest.mark.subprocess  # `likecast score`, Dask's local processes


@pytest.fixture(scope="module")
def parts(small_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The videos as a folder of four Parquet parts: four Dask tasks, several local chunks."""
    videos = pd.read_parquet(small_data / "videos.parquet")
    folder = tmp_path_factory.mktemp("parts") / "videos"
    folder.mkdir()
    for i, part in enumerate(np.array_split(np.arange(len(videos)), 4)):
        videos.iloc[part].to_parquet(folder / f"part-{i}.parquet", index=False)
    return folder


@pytest.fixture(scope="module")
def at(small_dataset: Dataset) -> str:
    """A moment two days before the last post: most videos are live, a few not yet posted."""
    return (small_dataset.videos["posted_at"].max() - pd.Timedelta(days=2)).isoformat()


def score(home: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return run_cli("score", *args, env={"LIKECAST_HOME": str(home)}, timeout=timeout)


def test_local_and_dask_engines_give_the_same_scores_and_log_them_alike(
    home: Path, parts: Path, small_data: Path, bundle_dir: Path, tmp_path: Path, at: str
) -> None:
    # given the same videos, snapshots and time, scored by each engine, in a home of their own
    home = own_home(home, tmp_path)
    common = ["--input", str(parts), "--model", str(bundle_dir), "--at", at]
    common += ["--snapshots", str(small_data / "snapshots.parquet")]
    local = score(home, *common, "--output", str(tmp_path / "local.parquet"), "--chunk-rows", "700")
    dask = score(home, *common, "--output", str(tmp_path / "dask"), "--engine", "dask")
    assert local.returncode == 0, local.stderr
    assert dask.returncode == 0, dask.stderr
    # then the Dask output is a folder of parts finished by _SUCCESS
    folder = tmp_path / "dask"
    assert (folder / "_SUCCESS").is_file()
    assert len(list(folder.glob("part-*.parquet"))) == 4
    # and both hold the same rows in the same order, probabilities equal to 1e-9
    a, b = pd.read_parquet(tmp_path / "local.parquet"), pd.read_parquet(folder)
    assert list(a.columns) == list(b.columns)
    assert a["video_id"].tolist() == b["video_id"].tolist()
    np.testing.assert_allclose(a["probability"], b["probability"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(a["age_minutes"], b["age_minutes"])
    # videos posted after --at are rejected with that reason, not scored
    posted = pd.read_parquet(small_data / "videos.parquet")["posted_at"]
    after = int((posted > pd.Timestamp(at)).sum())
    assert 0 < after < len(posted) / 10
    assert len(a) == len(posted) - after
    rejects = pd.read_csv(tmp_path / "local.rejects.csv")
    assert rejects["_reason"].str.contains("after --at").sum() == after
    # and each job logged every row it scored, the same answers from the same inputs
    read = read_log(log_folder(home))
    assert read.broken_lines == 0
    jobs = [job.sort_values("item") for _, job in read.answers.groupby("request_id")]
    assert sorted(len(job) for job in jobs) == [len(a), len(b)]
    first, second = (job.drop(columns=["logged_at", "request_id"]) for job in jobs)
    pd.testing.assert_frame_equal(first.reset_index(drop=True), second.reset_index(drop=True))
    assert first["video_id"].tolist() == a["video_id"].tolist()


def own_home(home: Path, tmp_path: Path) -> Path:
    """A copy of the shared home (its creator store), with a prediction log of its own."""
    mine = tmp_path / "home"
    shutil.copytree(home, mine, ignore=shutil.ignore_patterns(FOLDER))
    return mine


def test_a_killed_job_leaves_no_finished_looking_output_and_a_rerun_completes(
    home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a catalogue of 80k videos, scored in many small chunks
    videos = pd.read_parquet(small_data / "videos.parquet")
    big = pd.concat(
        [videos.assign(video_id=videos["video_id"] + f"-{i}") for i in range(20)],
        ignore_index=True,
    )
    source = tmp_path / "big.parquet"
    big.to_parquet(source, index=False, row_group_size=2000)
    out = tmp_path / "scores.parquet"
    args = ["score", "--input", str(source), "--output", str(out), "--model", str(bundle_dir)]
    args += ["--chunk-rows", "1000"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
    # when the job is killed while it writes
    job = subprocess.Popen(
        [str(BIN / "likecast"), *args],
        env={**env, "LIKECAST_HOME": str(home)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    partial = tmp_path / f".scores.parquet.tmp-{job.pid}"
    deadline = time.monotonic() + 120
    while not (partial.exists() and partial.stat().st_size > 0) and time.monotonic() < deadline:
        time.sleep(0.02)
    job.send_signal(signal.SIGKILL)
    job.wait(30)
    # then there is no output file, only the hidden partial one
    assert partial.exists(), "the job finished before it could be killed"
    assert not out.exists()
    # when it is run again, it completes with every video scored once
    rerun = run_cli(*args, env={"LIKECAST_HOME": str(home)})
    assert rerun.returncode == 0, rerun.stderr
    scores = pd.read_parquet(out)
    assert scores["video_id"].tolist() == big["video_id"].tolist()
    assert not partial.exists()
    # and the scores equal the drafts scored alone (each copy of a video scores the same)
    np.testing.assert_allclose(
        scores["probability"].to_numpy().reshape(20, -1),
        np.tile(scores["probability"][:4000], (20, 1)),
    )
