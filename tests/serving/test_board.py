"""How a service's workers agree on a model: the swap board, the fetch child, the alias watch."""

from __future__ import annotations

import subprocess
import threading
from pathlib import Path

import mlflow
import pytest

from likecast.settings import Settings, get_settings
from models.mlflow_client import connect
from serving.swap.fetch import AliasWatch, FetchError, Release, fetch
from serving.swap.workers_folder import SwapBoard, service_folder, sweep_stopped_services
from training.tracking import experiment_id

pytestmark = pytest.mark.slow  # starts servers or subprocesses


def release(version: str, folder: Path) -> Release:
    return Release(version, str(folder / f"v{version}"), "models:/likecast@champion", None)


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


@pytest.fixture
def boards(tmp_path: Path) -> tuple[SwapBoard, SwapBoard]:
    return SwapBoard(tmp_path / "svc", 1, 2), SwapBoard(tmp_path / "svc", 2, 2)


def test_a_staged_model_is_served_only_once_every_worker_has_it(boards, tmp_path) -> None:
    # given worker 1 staging version 2 while version 1 is served
    one, two = boards
    one.commit(release("1", tmp_path))
    stage_id = one.stage(release("2", tmp_path))
    # when worker 2 sees the staging (once) and answers that it loaded it
    seen = two.staged()
    assert seen == (stage_id, release("2", tmp_path))
    assert two.staged() is None
    assert one.staged() is None  # the stager does not answer itself
    assert two.serving() == release("1", tmp_path)
    two.answer(stage_id, None)
    # then worker 1 hears no error, and after its commit both see version 2 served
    assert one.wait_for_answers(stage_id, timeout_s=5) == []
    one.commit(release("2", tmp_path))
    assert two.serving() == release("2", tmp_path)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("no such file: model.txt", ["worker 2: no such file: model.txt"]),
        (None, []),
    ],
)
def test_the_stager_hears_each_workers_answer(boards, tmp_path, answer, expected) -> None:
    # given a staging that worker 2 answers in the background
    one, two = boards
    stage_id = one.stage(release("3", tmp_path))
    threading.Timer(0.3, lambda: two.answer(two.staged()[0], answer)).start()
    # when worker 1 waits for the answers, then what it hears is worker 2's answer
    assert one.wait_for_answers(stage_id, timeout_s=10) == expected


def test_a_worker_that_never_answers_fails_the_swap(boards, tmp_path) -> None:
    one, two = boards
    stale = one.stage(release("2", tmp_path))
    two.answer(stale, None)  # an answer to an earlier staging does not count
    stage_id = one.stage(release("3", tmp_path))
    assert one.wait_for_answers(stage_id, timeout_s=0.3) == ["worker 2 did not load it in 0 s"]


def test_one_swap_at_a_time(boards) -> None:
    one, two = boards
    with one.exclusive(wait=True) as mine:
        assert mine
        with two.exclusive(wait=False) as theirs:
            assert not theirs
    with two.exclusive(wait=False) as theirs:
        assert theirs


def test_commits_keep_the_served_and_the_previous_download(boards, tmp_path) -> None:
    one, _ = boards
    for version in ("1", "2", "3"):
        Path(release(version, one.folder).folder).mkdir()
        one.commit(release(version, one.folder))
    assert sorted(p.name for p in one.folder.glob("v*")) == ["v2", "v3"]


def test_events_of_every_worker_are_shared(boards) -> None:
    one, two = boards
    one.record({"event": "swapped", "to": "2"})
    two.record({"event": "swapped", "to": "2"})
    assert [(e["worker"], e["to"]) for e in one.events()] == [(1, "2"), (2, "2")]


def test_folders_of_stopped_services_are_swept(tmp_path: Path) -> None:
    # given this process's service folder and one of a process that has exited
    settings = Settings(home=tmp_path / "home")
    mine = service_folder(settings)
    mine.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    stopped = mine.parent / f"{gone.pid}-1"
    stopped.mkdir()
    # when swept, then only the running service's folder is left
    sweep_stopped_services(mine)
    assert [p.name for p in mine.parent.iterdir()] == [mine.name]


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


def test_a_failed_fetch_says_why_in_one_line(tmp_path) -> None:
    with pytest.raises(FetchError, match=r"^models:/likecast@champion: .*not in the registry"):
        fetch("models:/likecast@champion", tmp_path / "svc")


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


def test_a_release_survives_its_json() -> None:
    original = Release("7", "/tmp/v7", "models:/likecast@champion", "abc")
    assert Release.from_json(original.to_json()) == original
