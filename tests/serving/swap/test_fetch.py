"""Fetching a registry version in a child process, and watching the alias cheaply."""

from __future__ import annotations

from pathlib import Path

import mlflow
import pytest

from likecast.settings import Settings, get_settings
from models.mlflow_client import connect
from serving.swap.fetch import AliasWatch, FetchedVersion, FetchError, fetch
from training.tracking import experiment_id


def register(settings: Settings, bundle_dir: Path) -> str:
    """A new version of `likecast` holding ``bundle_dir``, logged the cheap way."""
    client = connect(settings)
    with mlflow.start_run(experiment_id=experiment_id(client, "board-tests", settings)):
        info = mlflow.pyfunc.log_model(
            name="model",
            loader_module="models.pyfunc",
            data_path=str(bundle_dir),
            pip_requirements=[],
        )
    return str(mlflow.register_model(info.model_uri, "likecast").version)


@pytest.mark.subprocess
def test_fetch_downloads_a_version_once_in_a_child_process(bundle_dir, tmp_path) -> None:
    # given a champion in the registry
    settings = get_settings()
    version = register(settings, bundle_dir)
    connect(settings).set_registered_model_alias("likecast", "champion", version)
    # when it is fetched twice
    first = fetch("models:/likecast@champion", tmp_path / "svc")
    again = fetch("models:/likecast@champion", tmp_path / "svc")
    # then both name the same version and folder, which holds the MLflow model
    assert first == again
    assert first.version == version
    assert (Path(first.folder) / "MLmodel").is_file()
    assert [p.name for p in (tmp_path / "svc").iterdir()] == [f"v{version}"]


@pytest.mark.subprocess
def test_a_failed_fetch_says_why_in_one_line(tmp_path) -> None:
    with pytest.raises(FetchError, match=r"^models:/likecast@champion: .*not in the registry"):
        fetch("models:/likecast@champion", tmp_path / "svc")


@pytest.mark.subprocess  # logging a model, MLflow asks `git` for the commit
def test_the_watch_sees_an_alias_move_in_a_sqlite_store(bundle_dir) -> None:
    # given a served champion whose store has not changed since
    settings = get_settings()
    first, second = register(settings, bundle_dir), register(settings, bundle_dir)
    client = connect(settings)
    client.set_registered_model_alias("likecast", "champion", first)
    watch = AliasWatch(settings, "models:/likecast@champion")
    watch.mark()
    assert not watch.may_have_moved({first})
    # when the alias moves, then the watch says so, once
    client.set_registered_model_alias("likecast", "champion", second)
    assert watch.may_have_moved({first})
    assert not watch.may_have_moved({first})


@pytest.mark.server
def test_the_watch_asks_a_tracking_server(mlflow_server, bundle_dir, monkeypatch) -> None:
    # given a champion on a real mlflow server
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    settings = get_settings()
    first, second = register(settings, bundle_dir), register(settings, bundle_dir)
    client = connect(settings)
    client.set_registered_model_alias("likecast", "champion", first)
    watch = AliasWatch(settings, "models:/likecast@champion")
    assert not watch.may_have_moved({first})
    # when the alias moves, then the watch sees the new version until it is known
    client.set_registered_model_alias("likecast", "champion", second)
    assert watch.may_have_moved({first})
    assert not watch.may_have_moved({first, second})


def test_a_pinned_version_never_moves(bundle_dir) -> None:
    assert not AliasWatch(get_settings(), "models:/likecast/3").may_have_moved(set())


def test_a_fetched_version_survives_its_json() -> None:
    original = FetchedVersion("7", "/tmp/v7", "models:/likecast@champion", "abc")
    assert FetchedVersion.from_json(original.to_json()) == original
