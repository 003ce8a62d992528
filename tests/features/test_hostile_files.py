"""Hostile values in every column of the data contract, through `likecast validate` and
`likecast score`: a clean verdict or a one-line error (exit 2), never a traceback, and a
rejected row always lands in the rejects file with its column named.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.contract import SNAPSHOT_COLUMNS, VIDEO_COLUMNS

HOSTILE = (
    "inf", "-inf", "1e30", "-1", "abc", "9999-12-31T00:00:00Z", "0001-01-01",
    "=HYPERLINK(1)", "  ", "1.5",
)  # fmt: skip
GOOD_VIDEO = {
    "video_id": "v0", "creator_id": "c0", "posted_at": "2026-07-01T10:00:00Z",
    "category": "food", "duration_s": "30", "caption": "noodles", "hashtags": "#a #b",
    "creator_followers": "100", "music_trending": "true",
}  # fmt: skip
GOOD_SNAPSHOT = {
    "video_id": "v0", "age_minutes": "60", "likes": "10", "views": "200", "comments": "1",
    "replies": "0", "shares": "0", "follows": "0", "completion_rate": "0.3",
    "retention_3s": "0.7", "avg_watch_s": "12",
}  # fmt: skip
ROWS = 60
CASES = [("videos", c.name, v) for c in VIDEO_COLUMNS for v in HOSTILE] + [
    ("snapshots", c.name, v) for c in SNAPSHOT_COLUMNS for v in HOSTILE
]


def _tables(table: str, column: str, value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 good videos with a snapshot each; row 1 of ``table`` carries the hostile value."""
    videos = pd.DataFrame([{**GOOD_VIDEO, "video_id": f"v{i}"} for i in range(ROWS)])
    snaps = pd.DataFrame([{**GOOD_SNAPSHOT, "video_id": f"v{i}"} for i in range(ROWS)])
    frame = videos if table == "videos" else snaps
    frame[column] = frame[column].astype(object) if column in frame else None
    frame.loc[0, column] = value
    return videos, snaps


@pytest.mark.parametrize(
    ("table", "column", "value"), CASES, ids=[f"{t}.{c}={v}" for t, c, v in CASES]
)
def test_a_hostile_value_is_a_clean_verdict_never_a_traceback(
    tmp_path: Path, cli, table: str, column: str, value: str
) -> None:
    # given a data set whose first row of one table holds a hostile value
    videos, snaps = _tables(table, column, value)
    videos.to_csv(tmp_path / "videos.csv", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    # when it is validated (cli raises if anything escapes as a traceback)
    result = cli("validate", str(tmp_path), "--max-reject-share", "1")
    # then the verdict is clean or names the column, and a rejected row is in the rejects file
    assert result.code in (0, 2), result.text
    assert "Traceback" not in result.text
    rejects = tmp_path / f"{table}.rejects.csv"
    if result.code == 2:
        assert column in result.text, result.text
    elif rejects.exists():
        reasons = pd.read_csv(rejects)
        assert reasons["_row"].tolist()[:1] == [1], reasons
        assert column in reasons["_reason"][0] or "video_id" in reasons["_reason"][0]


@pytest.mark.parametrize(
    "value", ["inf", "1e30", "9999-12-31T00:00:00Z", "=cmd|' /C calc'!A0", "-1"]
)
def test_scoring_hostile_videos_rejects_them_by_row(tmp_path: Path, cli, bundle_dir, value):
    # given videos where the first holds a hostile value in each of several columns
    videos, _ = _tables("videos", "duration_s", value)
    videos.loc[0, "posted_at"] = value if ":" in value else videos.loc[0, "posted_at"]
    videos.loc[0, "caption"] = value
    videos.to_csv(tmp_path / "videos.csv", index=False)
    out = tmp_path / "scores.csv"
    # when they are scored
    env = {"LIKECAST_MAX_REJECT_SHARE": "1", "LIKECAST_HOME": str(tmp_path / "h")}
    result = cli("score", "--input", str(tmp_path / "videos.csv"), "--output", str(out),
                 "--model", str(bundle_dir), env=env)  # fmt: skip
    # then it succeeds and the outputs never start a cell with a formula
    assert result.code == 0, result.text
    for path in (out, tmp_path / "scores.rejects.csv"):
        if path.exists():
            for line in path.read_text().splitlines():
                assert not any(cell.startswith(("=", "+", "@")) for cell in line.split(","))


def test_a_folder_mixing_parquet_and_csv_parts_is_refused(tmp_path: Path, cli) -> None:
    videos, snaps = _tables("videos", "caption", "fine")
    (tmp_path / "videos").mkdir()
    videos.head(30).to_parquet(tmp_path / "videos" / "part-0.parquet", index=False)
    videos.tail(30).to_csv(tmp_path / "videos" / "part-1.csv", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    result = cli("validate", str(tmp_path))
    assert result.code == 2
    assert "Parquet parts only, found part-1.csv" in result.text


def test_a_list_typed_text_column_is_refused(tmp_path: Path, cli) -> None:
    videos, snaps = _tables("videos", "caption", "fine")
    frame = videos.assign(hashtags=[["#a", "#b"]] * len(videos))
    frame.to_parquet(tmp_path / "videos.parquet", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    result = cli("validate", str(tmp_path))
    assert result.code == 2
    assert "videos.hashtags: expected text, found lists" in result.text


def test_a_clean_validate_removes_an_older_rejects_file(tmp_path: Path, cli) -> None:
    videos, snaps = _tables("videos", "duration_s", "-1")
    videos.to_csv(tmp_path / "videos.csv", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    assert cli("validate", str(tmp_path)).code == 0
    assert (tmp_path / "videos.rejects.csv").exists()
    videos.loc[0, "duration_s"] = "30"
    videos.to_csv(tmp_path / "videos.csv", index=False)
    assert cli("validate", str(tmp_path)).code == 0
    assert not (tmp_path / "videos.rejects.csv").exists()


def test_scoring_onto_its_own_input_is_refused(tmp_path: Path, cli, bundle_dir) -> None:
    videos, _ = _tables("videos", "caption", "fine")
    videos.to_csv(tmp_path / "videos.csv", index=False)
    result = cli("score", "--input", str(tmp_path / "videos.csv"), "--output",
                 str(tmp_path / "videos.csv"), "--model", str(bundle_dir))  # fmt: skip
    assert result.code == 2
    assert "would overwrite the input" in result.text
    assert len(pd.read_csv(tmp_path / "videos.csv")) == ROWS
