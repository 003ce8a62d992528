"""Data the loader rejects whole, and snapshots of unknown videos: one line, never a
traceback, and the unknown id named."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.loading import load_dataset

VIDEO = {
    "video_id": "v0", "creator_id": "c0", "posted_at": "2026-07-01T10:00:00Z",
    "category": "food", "duration_s": "30",
}  # fmt: skip
SNAPSHOT = {"video_id": "v0", "age_minutes": "60", "likes": "10", "views": "200"}


def write(folder: Path, videos: list[dict[str, str]], snapshots: list[dict[str, str]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(videos).to_csv(folder / "videos.csv", index=False)
    pd.DataFrame(snapshots).to_csv(folder / "snapshots.csv", index=False)
    return folder


@pytest.mark.parametrize("duration", ["-5", "inf"])
@pytest.mark.parametrize(
    "command",
    [["validate", "{data}"], ["train", "--data", "{data}"],
     ["features", "materialize", "--data", "{data}"]],
    ids=["validate", "train", "materialize"],
)  # fmt: skip
# train opens the tracking store before it reads the data: one whose tables are made
@pytest.mark.usefixtures("tracking_store")
@pytest.mark.slow
def test_every_video_rejected_fails_in_one_line(
    tmp_path: Path, cli, duration: str, command: list[str]
) -> None:
    # given a data set whose one video has an impossible duration
    data = write(tmp_path / "data", [{**VIDEO, "duration_s": duration}], [SNAPSHOT])
    # when a command loads it
    result = cli(*(part.format(data=data) for part in command))
    # then it fails in one line saying every video was rejected and why, no traceback
    assert result.code == 2
    assert "Traceback" not in result.err
    assert "IndexError" not in result.err
    assert "videos: all 1 rows were rejected" in result.text
    assert "duration_s" in result.text
    errors = [line for line in result.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert result.err.strip().endswith(errors[0])


@pytest.mark.parametrize("ages", [["60", "60"], ["120", "60"], ["60"]])
def test_snapshots_of_an_unknown_video_name_it_and_break_no_other_rule(
    tmp_path: Path, ages: list[str]
) -> None:
    # given snapshots of a video the videos table lacks, at repeated or decreasing counts
    stranger = [
        {**SNAPSHOT, "video_id": "ghost-7", "age_minutes": age, "likes": str(50 - i)}
        for i, age in enumerate(ages)
    ]
    data = write(tmp_path / "data", [VIDEO], [SNAPSHOT, *stranger])
    # when the data set is loaded
    dataset = load_dataset(data)
    # then each of them is rejected as an unknown video, by its id, and for nothing else
    lines = [p.line() for p in dataset.problems]
    assert len(lines) == 1, lines
    assert "unknown video (not in videos): 'ghost-7'" in lines[0]
    assert f"{len(ages)} rows" in lines[0]
    assert len(dataset.snapshots) == 1
