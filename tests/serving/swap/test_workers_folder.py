"""How a service's workers agree on a model through their shared folder."""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

import pytest

from serving.swap.fetch import FetchedVersion
from serving.swap.workers_folder import WorkersFolder, service_folder, sweep_stopped_services


def fetched(version: str, folder: Path) -> FetchedVersion:
    return FetchedVersion(version, str(folder / f"v{version}"), "models:/likecast@champion", None)


@pytest.fixture
def folders(tmp_path: Path) -> tuple[WorkersFolder, WorkersFolder]:
    return WorkersFolder(tmp_path / "svc", 1, 2), WorkersFolder(tmp_path / "svc", 2, 2)


def test_a_staged_model_is_served_only_once_every_worker_has_it(folders, tmp_path) -> None:
    # given worker 1 staging version 2 while version 1 is served
    one, two = folders
    one.commit(fetched("1", tmp_path))
    stage_id = one.stage(fetched("2", tmp_path))
    # when worker 2 sees the staging (once) and answers that it loaded it
    seen = two.staged()
    assert seen == (stage_id, fetched("2", tmp_path))
    assert two.staged() is None
    assert one.staged() is None  # the stager does not answer itself
    assert two.serving() == fetched("1", tmp_path)
    two.answer(stage_id, None)
    # then worker 1 hears no error, and after its commit both see version 2 served
    assert one.wait_for_answers(stage_id, timeout_s=5) == []
    one.commit(fetched("2", tmp_path))
    assert two.serving() == fetched("2", tmp_path)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("no such file: model.txt", ["worker 2: no such file: model.txt"]),
        (None, []),
    ],
)
def test_the_stager_hears_each_workers_answer(folders, tmp_path, answer, expected) -> None:
    # given a staging that worker 2 answers in the background
    one, two = folders
    stage_id = one.stage(fetched("3", tmp_path))
    threading.Timer(0.3, lambda: two.answer(two.staged()[0], answer)).start()
    # when worker 1 waits for the answers, then what it hears is worker 2's answer
    assert one.wait_for_answers(stage_id, timeout_s=10) == expected


def test_a_worker_that_never_answers_fails_the_swap(folders, tmp_path) -> None:
    one, two = folders
    stale = one.stage(fetched("2", tmp_path))
    two.answer(stale, None)  # an answer to an earlier staging does not count
    stage_id = one.stage(fetched("3", tmp_path))
    assert one.wait_for_answers(stage_id, timeout_s=0.3) == ["worker 2 did not load it in 0 s"]


def test_one_swap_at_a_time(folders) -> None:
    one, two = folders
    with one.exclusive(wait=True) as mine:
        assert mine
        with two.exclusive(wait=False) as theirs:
            assert not theirs
    with two.exclusive(wait=False) as theirs:
        assert theirs


def test_commits_keep_the_served_and_the_previous_download(folders, tmp_path) -> None:
    one, _ = folders
    for version in ("1", "2", "3"):
        Path(fetched(version, one.path).folder).mkdir()
        one.commit(fetched(version, one.path))
    assert sorted(p.name for p in one.path.glob("v*")) == ["v2", "v3"]


def test_events_of_every_worker_are_shared(folders) -> None:
    one, two = folders
    one.record({"event": "swapped", "to": "2"})
    two.record({"event": "swapped", "to": "2"})
    assert [(e["worker"], e["to"]) for e in one.events()] == [(1, "2"), (2, "2")]


def test_every_worker_sees_the_last_check_of_the_alias(folders) -> None:
    # given no check yet, then worker 1 checking the alias twice
    one, two = folders
    assert two.registry_check() is None
    one.note_registry_check("2026-12-02T10:00:00+00:00", 1)
    one.note_registry_check("2026-12-02T10:00:05+00:00", 2)
    # when worker 2 reads it, then it sees the latest
    assert two.registry_check() == {"at": "2026-12-02T10:00:05+00:00", "count": 2}


@pytest.mark.subprocess
def test_folders_of_stopped_services_are_swept(tmp_path: Path) -> None:
    # given this process's service folder and one of a process that has exited
    mine = service_folder(tmp_path / "home", os.getpid())
    mine.mkdir(parents=True)
    gone = subprocess.Popen(["true"])
    gone.wait()
    stopped = mine.parent / f"{gone.pid}-1"
    stopped.mkdir()
    # when swept, then only the running service's folder is left
    sweep_stopped_services(mine)
    assert [p.name for p in mine.parent.iterdir()] == [mine.name]
