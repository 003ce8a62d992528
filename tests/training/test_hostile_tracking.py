"""Hostile tracking stores: unsupported or mistyped URIs, a store that is read-only, full or
gone, tokens in URIs, credentials given MLflow's ways, and what a killed train leaves.

Each fails at once in one line, before any data is read, without a secret; nothing is
created where a path was mistyped. In-process (the ``cli`` fixture); read-only and full
disks are real tmpfs mounts (tests/disks.py).
"""

from __future__ import annotations

import base64
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from likecast.settings import Settings
from models.mlflow_client import connect
from models.tracking_http import authorization
from serving.swap.fetch import AliasWatch
from tests.disks import fill, make_read_only, tiny_disk
from tests.helpers import Result, free_port
from training.leftovers import TEMP_PREFIX, temp_folder

SECRET = "t0ken-S3cret"


def refused(result: Result, code: int = 2) -> str:
    """The one line a refusal printed (after checking it is one, with no secret)."""
    assert result.code == code, result.text
    assert "Traceback" not in result.err
    assert SECRET not in result.text
    assert len([line for line in result.err.splitlines() if line.startswith("error:")]) == 1
    return result.text


@pytest.mark.parametrize(
    ("uri", "says"),
    [
        ("file:///tmp/likecast-hostile/mlruns", "a file: URI"),
        ("databricks://my-profile", "a databricks: URI"),
        ("mlruns", "a path"),
        ("./elsewhere/mlruns", "a path"),
        ("s3://bucket/mlruns", "a s3: URI"),
        ("sqlite:////nonexistent-likecast/dir/x.db", "does not exist"),
        (f"http://127.0.0.1:1/?token={SECRET}", "takes no query string"),
        (f"https://registry.invalid/mlflow?{SECRET}", "takes no query string"),
    ],
)
@pytest.mark.parametrize(
    "command", [["models"], ["promote", "--force"], ["tune", "--data", "/no-data", "--trials", "1"]]
)
def test_a_tracking_uri_likecast_cannot_use_is_refused_at_once(
    cli, uri: str, says: str, command: list[str]
) -> None:
    # given a tracking URI of a store likecast cannot keep its registry in, or mistyped
    # when a command connects to it
    result = cli(*command, env={"LIKECAST_TRACKING_URI": uri})
    # then one line says why and what to use, exit 2, and no token is shown
    assert says in refused(result)
    # and nothing was made where a path was mistyped
    assert not Path("/nonexistent-likecast").exists()


def test_a_mistyped_sqlite_folder_trains_nothing_and_makes_no_folder(
    cli, small_data: Path, tmp_path: Path
) -> None:
    # given a SQLite tracking URI whose folder does not exist
    missing = tmp_path / "typo" / "dir"
    uri = f"sqlite:///{missing / 'mlflow.db'}"
    # when train is run on it
    result = cli("train", "--data", str(small_data), env={"LIKECAST_TRACKING_URI": uri})
    # then it refuses before training, and makes neither folder nor registry
    assert "does not exist" in refused(result)
    assert not (tmp_path / "typo").exists()


@pytest.fixture
def store_disk(tmp_path: Path) -> Iterator[Path]:
    with tiny_disk(tmp_path / "store", size="4m") as disk:
        yield disk


@pytest.mark.slow
def test_a_read_only_tracking_store_fails_train_before_the_data_is_read(
    cli,
    small_data: Path,
    store_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    empty_store: Path,
) -> None:
    # given a tracking store (and its artifacts) on a file system that became read-only
    made = tmp_path / "made"
    made.mkdir()
    shutil.copyfile(empty_store, made / "mlflow.db")  # MLflow's tables, made once per run
    connect(Settings(home=made))  # as likecast leaves it; copied below (not held open)
    shutil.copy(made / "mlflow.db", store_disk / "mlflow.db")
    make_read_only(store_disk, "4m")
    monkeypatch.setenv("LIKECAST_HOME", str(store_disk))
    # when train is run
    result = cli("train", "--data", str(small_data))
    # then it fails in one line saying the store takes no writes, before loading the data
    text = refused(result, result.code)
    assert result.code in (2, 74)
    assert "read-only" in text or "does not take writes" in text
    assert "loading data" not in text


def test_a_full_disk_under_the_tracking_store_is_one_line(
    cli, small_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with tiny_disk(tmp_path / "full", size="64k") as disk:
        # given a home on a full disk, where the tracking database would be made
        fill(disk)
        monkeypatch.setenv("LIKECAST_HOME", str(disk))
        # when train is run
        result = cli("train", "--data", str(small_data))
        # then one line says the disk is full, exit 74, before any data is read
        text = refused(result, 74)
        assert "space" in text
        assert "loading data" not in text


def test_a_tracking_server_that_is_gone_fails_train_before_the_data_is_read(
    cli, small_data: Path
) -> None:
    # given a tracking server that was killed (nothing listens at its address)
    uri = f"http://admin:{SECRET}@127.0.0.1:{free_port()}"
    # when train is run on it, then one line, no password, before the data is read
    text = refused(cli("train", "--data", str(small_data), env={"LIKECAST_TRACKING_URI": uri}))
    assert "unreachable" in text
    assert "loading data" not in text


# -- credentials, MLflow's ways ----------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("uri", "env", "file", "expected"),
    [
        ("http://alice:pw1@h:5000", {}, None, basic("alice", "pw1")),
        (
            "http://h:5000",
            {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw2"},
            None,
            basic("bob", "pw2"),
        ),
        (
            "http://h:5000",
            {},
            "[mlflow]\nmlflow_tracking_username = carol\nmlflow_tracking_password = pw3\n",
            basic("carol", "pw3"),
        ),
        ("http://h:5000", {"MLFLOW_TRACKING_TOKEN": "tok"}, None, "Bearer tok"),
        (  # the URI's own credentials come first
            "http://alice:pw1@h:5000",
            {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": "pw2"},
            None,
            basic("alice", "pw1"),
        ),
        ("http://h:5000", {}, None, None),
        ("http://h:5000", {}, "[mlflow\n garbage", None),  # a broken file sends no login
    ],
)
def test_the_watcher_logs_in_as_mlflow_would(
    uri: str,
    env: dict[str, str],
    file: str | None,
    expected: str | None,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # given credentials in one of the ways MLflow reads them
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("USERNAME", "PASSWORD", "TOKEN"):
        monkeypatch.delenv(f"MLFLOW_TRACKING_{name}", raising=False)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    if file is not None:
        (tmp_path / ".mlflow").mkdir()
        (tmp_path / ".mlflow" / "credentials").write_text(file)
    # when the header the watcher sends is made, then it is MLflow's
    assert authorization(uri) == expected


def test_a_watcher_that_cannot_reach_the_registry_says_why(tmp_path: Path) -> None:
    # given a tracking server that is gone, with a password in its URI
    uri = f"http://admin:{SECRET}@127.0.0.1:{free_port()}"
    watch = AliasWatch(Settings(home=tmp_path, tracking_uri=uri), "models:/likecast@champion")
    # when it looks whether the alias moved
    moved = watch.may_have_moved({"1"})
    # then it did not move, the failure is kept for readiness, and carries no password
    assert moved is False
    assert watch.error is not None
    assert SECRET not in watch.error


# -- what a train leaves in the temp folder -----------------------------------------------


def test_mlflow_staging_lands_in_the_runs_own_temp_folder() -> None:
    # given a run's temp folder
    with temp_folder() as folder:
        # when a library stages files in a temp folder of its own (as MLflow does)
        staged = Path(tempfile.mkdtemp())
        # then it is inside the run's folder, named by this process
        assert staged.parent == folder
        assert folder.name.startswith(TEMP_PREFIX)
    # and all of it is gone after, and the temp folder is the system's again
    assert not folder.exists()
    with tempfile.TemporaryDirectory() as elsewhere:
        assert Path(elsewhere).parent != folder
