"""The data commands as a user runs them: simulate in parts, then validate what was written."""

from __future__ import annotations

from pathlib import Path

import pytest

from serving.cli import main


@pytest.mark.parametrize(
    ("videos", "part_videos", "parts", "written"),
    [
        (3000, 1000, 3, ["snapshots/part-00002.parquet", "truth/part-00000.parquet"]),
        (1500, 2000, 1, ["videos.parquet", "snapshots.parquet", "truth.parquet"]),
    ],
    ids=["parts", "one-part"],
)
@pytest.mark.slow
def test_simulate_writes_parts_that_validate(
    videos: int,
    part_videos: int,
    parts: int,
    written: list[str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # given a simulation of some videos in parts of a size
    out = tmp_path / "data"
    args = ["--videos", str(videos), "--part-videos", str(part_videos), "--out", str(out)]
    # when it runs
    code = main(["simulate", *args, "--days", "30"])
    # then it writes the tables in that many parts and says so
    err = " ".join(capsys.readouterr().err.split())
    assert code == 0
    assert f"wrote {videos:,} videos and" in err
    assert f"in {parts} part{'s' if parts > 1 else ''} to {out}" in err
    assert all((out / name).is_file() for name in written)
    # and the data set passes validation as it is
    assert main(["validate", str(out)]) == 0
    assert "clean" in capsys.readouterr().err


def test_parts_smaller_than_the_minimum_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # when a part size below the minimum is asked for
    code = main(["simulate", "--part-videos", "999", "--out", str(tmp_path)])
    # then the command fails naming the option, before writing anything
    assert code == 2
    assert "--part-videos" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_stranger_in_the_folder_fails_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a folder holding the user's own videos table
    (tmp_path / "videos.csv").write_text("video_id\n")
    # when parts are simulated into it
    code = main(["simulate", "--videos", "2000", "--part-videos", "1000", "--out", str(tmp_path)])
    # then the command exits 2 with one line naming the file
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err[-1].startswith(f"error: {tmp_path / 'videos.csv'}: not written by likecast")
    assert "Traceback" not in "".join(err)
