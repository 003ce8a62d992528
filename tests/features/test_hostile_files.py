"""Hostile values in every column of the data contract, through `likecast validate` and
`likecast score`: a clean verdict or a one-line error (exit 2), never a traceback, and a
rejected row always lands in the rejects file with its column named.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.contract import SNAPSHOTS, VIDEOS
from features.loading import load_dataset

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


def _tables(table: str, column: str, value: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """60 good videos with a snapshot each; row 1 of ``table`` carries the hostile value."""
    videos = pd.DataFrame([{**GOOD_VIDEO, "video_id": f"v{i}"} for i in range(ROWS)])
    snaps = pd.DataFrame([{**GOOD_SNAPSHOT, "video_id": f"v{i}"} for i in range(ROWS)])
    frame = videos if table == "videos" else snaps
    frame[column] = frame[column].astype(object) if column in frame else None
    frame.loc[0, column] = value
    return videos, snaps


COLUMNS = [(table.name, c.name) for table in (VIDEOS, SNAPSHOTS) for c in table.columns]


@pytest.mark.parametrize(("table", "column"), COLUMNS, ids=[f"{t}.{c}" for t, c in COLUMNS])
@pytest.mark.slow
def test_hostile_values_get_a_clean_verdict_never_a_traceback(
    tmp_path: Path, cli, table: str, column: str
) -> None:
    # given a data set with each hostile value in its own row of one column (rows 1-10)
    videos, snaps = _tables(table, column, HOSTILE[0])
    frame = videos if table == "videos" else snaps
    for row, value in enumerate(HOSTILE):
        frame.loc[row, column] = value
    videos.to_csv(tmp_path / "videos.csv", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    # when it is validated (cli raises if anything escapes as a traceback)
    result = cli("validate", str(tmp_path), "--max-reject-share", "1")
    # then the verdict is clean or names the column, and each value's row is either kept or
    # in the rejects file with its column or its video named: one case per value
    assert result.code in (0, 2), result.text
    assert "Traceback" not in result.text
    if result.code == 2:
        assert column in result.text, result.text
        return
    rejects = tmp_path / f"{table}.rejects.csv"
    empty = pd.DataFrame(columns=["_row", "_reason"])
    reasons = pd.read_csv(rejects) if rejects.exists() else empty
    kept = set(load_dataset(tmp_path).results[table].clean["_row"])
    for row, value in enumerate(HOSTILE, start=1):
        why = reasons.loc[reasons["_row"] == row, "_reason"]
        assert row in kept or len(why), (value, "neither kept nor in the rejects file")
        if len(why):
            named = column in why.iloc[0] or "video_id" in why.iloc[0]
            assert named, (value, why.iloc[0])
    assert len(COLUMNS) * len(HOSTILE) >= 200


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


def _mixed_parts(tmp_path: Path, videos: pd.DataFrame) -> None:
    (tmp_path / "videos").mkdir()
    videos.head(30).to_parquet(tmp_path / "videos" / "part-0.parquet", index=False)
    videos.tail(30).to_csv(tmp_path / "videos" / "part-1.csv", index=False)


def _list_hashtags(tmp_path: Path, videos: pd.DataFrame) -> None:
    frame = videos.assign(hashtags=[["#a", "#b"]] * len(videos))
    frame.to_parquet(tmp_path / "videos.parquet", index=False)


@pytest.mark.parametrize(
    ("write_videos", "words"),
    [
        (_mixed_parts, "Parquet parts only, found part-1.csv"),
        (_list_hashtags, "videos.hashtags: expected text, found lists"),
    ],
    ids=["csv among parquet parts", "list-typed hashtags"],
)
def test_a_structural_problem_is_one_line(tmp_path: Path, cli, write_videos, words) -> None:
    # given good snapshots and videos written in a form the contract does not allow
    videos, snaps = _tables("videos", "caption", "fine")
    write_videos(tmp_path, videos)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    # when they are validated, then the command stops with one line that says why
    result = cli("validate", str(tmp_path))
    assert result.code == 2
    assert words in result.text


def test_a_clean_validate_removes_an_older_rejects_file(tmp_path: Path, cli) -> None:
    videos, snaps = _tables("videos", "duration_s", "-1")
    videos.to_csv(tmp_path / "videos.csv", index=False)
    snaps.to_csv(tmp_path / "snapshots.csv", index=False)
    assert cli("validate", str(tmp_path), "--max-reject-share", "1").code == 0
    assert (tmp_path / "videos.rejects.csv").exists()
    videos.loc[0, "duration_s"] = "30"
    videos.to_csv(tmp_path / "videos.csv", index=False)
    assert cli("validate", str(tmp_path), "--max-reject-share", "1").code == 0
    assert not (tmp_path / "videos.rejects.csv").exists()


def test_scoring_onto_its_own_input_is_refused(tmp_path: Path, cli, bundle_dir) -> None:
    videos, _ = _tables("videos", "caption", "fine")
    videos.to_csv(tmp_path / "videos.csv", index=False)
    result = cli("score", "--input", str(tmp_path / "videos.csv"), "--output",
                 str(tmp_path / "videos.csv"), "--model", str(bundle_dir))  # fmt: skip
    assert result.code == 2
    assert "would overwrite the input" in result.text
    assert len(pd.read_csv(tmp_path / "videos.csv")) == ROWS
