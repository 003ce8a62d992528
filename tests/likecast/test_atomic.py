"""Atomic writes: the old output or the new one, never half, and nothing left beside it."""

from __future__ import annotations

from pathlib import Path

import pytest

from likecast.atomic import creating, partial_of, replacing, write_text


class InterruptedWriteError(Exception):
    """A failure in the middle of a write."""


def _fail_halfway(target: Path, folder: bool) -> None:
    with replacing(target) as partial:
        if folder:
            partial.mkdir()
            (partial / "part-0.parquet").write_text("new")
        else:
            partial.write_text("half of the ne")
        raise InterruptedWriteError


def _beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir() if p != path)


def test_a_file_written_whole_replaces_the_old_one(tmp_path: Path) -> None:
    # given an old file
    target = tmp_path / "out.json"
    target.write_text("old")
    # when a new one is written
    write_text("new", target)
    # then it holds the new text and nothing is left beside it
    assert target.read_text() == "new"
    assert _beside(target) == []


def test_a_failure_mid_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    # given an old file
    target = tmp_path / "scores.csv"
    target.write_text("old")
    # when a write fails halfway through
    with pytest.raises(InterruptedWriteError):
        _fail_halfway(target, folder=False)
    # then the old file is as it was and no temporary is left
    assert target.read_text() == "old"
    assert _beside(target) == []


def test_a_failure_mid_write_of_a_folder_leaves_the_old_folder(tmp_path: Path) -> None:
    # given an old folder of parts
    target = tmp_path / "scores"
    target.mkdir()
    (target / "part-0.parquet").write_text("old")
    # when a new folder fails after its first part
    with pytest.raises(InterruptedWriteError):
        _fail_halfway(target, folder=True)
    # then the old folder is whole and nothing is left beside it
    assert [p.name for p in target.iterdir()] == ["part-0.parquet"]
    assert (target / "part-0.parquet").read_text() == "old"
    assert _beside(target) == []


def test_a_folder_written_whole_replaces_an_old_folder(tmp_path: Path) -> None:
    # given an old folder with a part the new one does not have
    target = tmp_path / "bundle"
    target.mkdir()
    (target / "stale.txt").write_text("old")
    # when a new folder is written
    with replacing(target) as partial:
        partial.mkdir()
        (partial / "model.txt").write_text("new")
    # then only the new folder's files are there, and nothing beside it
    assert [p.name for p in target.iterdir()] == ["model.txt"]
    assert _beside(target) == []


def test_a_file_cannot_replace_a_folder_and_leaves_nothing(tmp_path: Path) -> None:
    # given a folder where the file would go
    target = tmp_path / "metrics"
    target.mkdir()
    # when a file is written there, then it fails and no temporary is left
    with pytest.raises(IsADirectoryError):
        write_text("{}", target)
    assert target.is_dir()
    assert _beside(target) == []


def test_what_a_killed_write_left_is_swept_by_the_next(tmp_path: Path) -> None:
    # given the partial file of a process that is gone
    target = tmp_path / "scores.parquet"
    gone = int(Path("/proc/sys/kernel/pid_max").read_text())  # above every process id
    left = tmp_path / f".scores.parquet.tmp-{gone}"
    left.write_text("half")
    # and the partial file of this process writing another output
    other = partial_of(tmp_path / "other.parquet")
    other.write_text("in progress")
    # when the target is written again
    write_text("whole", target)
    # then the dead process's partial file is gone, the living one's stays
    assert target.read_text() == "whole"
    assert _beside(target) == [other.name]


def test_the_first_writer_of_a_folder_wins(tmp_path: Path) -> None:
    # given a folder another process wrote while this one was writing
    target = tmp_path / "v3"
    with creating(target) as partial:
        partial.mkdir()
        (partial / "model.txt").write_text("second")
        target.mkdir()
        (target / "model.txt").write_text("first")
    # then the first one stays, and the second copy is gone
    assert (target / "model.txt").read_text() == "first"
    assert _beside(target) == []
