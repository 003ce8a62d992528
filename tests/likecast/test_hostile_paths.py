"""Hostile output paths: every command that writes refuses, in one line and before any
work, an output that would overwrite one of its inputs."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from likecast.errors import UserError
from likecast.paths import check_outputs
from tests.helpers import Result


def _refused(result: Result, *named: str) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert "would overwrite the input" in result.text
    for words in named:
        assert words in result.text, result.text


@pytest.fixture
def data(small_data: Path, tmp_path: Path) -> Path:
    """A copy of the small data set, so that a check that failed could lose nothing shared."""
    return Path(shutil.copytree(small_data, tmp_path / "data"))


def _untouched(data: Path, before: dict[str, bytes]) -> None:
    assert {p.name: p.read_bytes() for p in data.iterdir()} == before


@pytest.mark.parametrize(
    "output",
    [
        "{data}/snapshots.parquet",  # the snapshots themselves
        "{link}",  # a symlink to them
        "{hard}",  # a hard link to them
        "{data}/videos.parquet",  # the videos scored
    ],
)
def test_score_never_writes_over_its_inputs(output: str, data: Path, tmp_path: Path, cli) -> None:
    # given the snapshots, a symlink and a hard link to them
    link, hard = tmp_path / "link.parquet", tmp_path / "hard.parquet"
    link.symlink_to(data / "snapshots.parquet")
    os.link(data / "snapshots.parquet", hard)
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    target = output.format(data=data, link=link, hard=hard)
    # when score is asked to write over one of them
    result = cli(
        "score",
        "--input",
        str(data / "videos.parquet"),
        "--snapshots",
        str(data / "snapshots.parquet"),
        "--age-minutes",
        "60",
        "--output",
        target,
    )
    # then it refuses in one line and every input is as it was
    _refused(result, "--output", target)
    _untouched(data, before)


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["evaluate", "--data", "{data}", "--output", "{data}/videos.parquet"], "--output"),
        (["evaluate", "--data", "{data}", "--output", "{data}"], "it holds --data"),
        (["evaluate", "--data", "{data}", "--output", "{data}/snapshots.csv"], "--output"),
        (["tune", "--data", "{data}", "--output", "{data}/snapshots.parquet"], "--output"),
        (
            ["features", "materialize", "--data", "{data}", "--store", "{data}/videos.parquet"],
            "--store",
        ),
        (["validate", "{data}", "--rejects", "{data}/videos"], "it lies inside DATA"),
        (["train", "--data", "{data}", "--engine", "dask", "--work", "{data}"], "--work"),
        (["train", "--data", "{data}", "--engine", "dask", "--work", "{data}/.."], "--work"),
    ],
)
def test_every_writing_command_refuses_an_output_over_its_input(
    command: list[str], named: str, data: Path, cli
) -> None:
    # given a data set and a command whose output names it, a table of it or its folder
    before = {p.name: p.read_bytes() for p in data.iterdir()}
    # when it is run
    result = cli(*(part.format(data=data) for part in command))
    # then it refuses in one line before any work, and the data is as it was
    _refused(result, named)
    _untouched(data, before)


def test_an_output_in_a_symlink_loop_is_one_line(tmp_path: Path, cli) -> None:
    # given an output path that is a symlink loop
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    # when tune is asked to write there
    result = cli("tune", "--data", str(tmp_path), "--output", str(tmp_path / "a"))
    # then one line names it
    assert result.code == 2
    assert "Traceback" not in result.err
    assert "cannot be resolved" in result.text


def test_separate_paths_pass_and_a_folder_output_holding_an_input_does_not(
    tmp_path: Path,
) -> None:
    # given inputs and outputs that are apart, and a folder output that holds an input
    inputs = {"--input": tmp_path / "in" / "videos.parquet", "--model": None}
    # when checked, then apart passes
    check_outputs(inputs, {"--output": tmp_path / "out.csv"})
    check_outputs(inputs, {"--output": [tmp_path / "in.csv", tmp_path / "in2.csv"]})
    # and a folder holding the input is refused
    with pytest.raises(UserError, match="it holds --input"):
        check_outputs(inputs, {"--work": tmp_path / "in"})
