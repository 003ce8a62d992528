"""CSV outputs never carry a spreadsheet formula from the input (OWASP CSV injection)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.csv_safe import csv_safe
from features.simulation.config import SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform

HOSTILE = ['=HYPERLINK("http://evil","x")', "+1+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1"]
# a tab or CR also starts a cell in some readers: the formula after it is quoted too
QUOTED = {"\t=1": "'\t'=1", "\r=1": "'\r'=1"}


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_leading_text_is_quoted(text: str) -> None:
    # given a text cell starting like a formula, when the frame is made CSV-safe
    frame = csv_safe(pd.DataFrame({"caption": [text, "fine"], "likes": [-1, 2]}))
    # then the text gets a leading quote and the rest is unchanged
    assert frame["caption"].tolist() == [QUOTED.get(text, "'" + text), "fine"]
    assert frame["likes"].tolist() == [-1, 2]


@pytest.mark.parametrize("value", [-1.5, "-1.5", "+3", "1e-3", None])
def test_numbers_stay_numbers(value: object) -> None:
    # given a number, or text that is a plain number, when the frame is made CSV-safe
    frame = csv_safe(pd.DataFrame({"x": [value, "a"]}))
    # then it is written as it was
    assert frame["x"].tolist()[0] == value or (value is None and frame["x"].isna().iloc[0])


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small CSV data set whose first videos have formula ids and captions, one of them bad."""
    out = tmp_path_factory.mktemp("hostile")
    write_platform(simulate(SimConfig(videos=300, seed=3, pilot_videos=300)), out)
    videos = pd.read_parquet(out / "videos.parquet")
    snapshots = pd.read_parquet(out / "snapshots.parquet")
    renamed = dict(zip(videos["video_id"][: len(HOSTILE)], HOSTILE, strict=True))
    videos["video_id"] = videos["video_id"].astype(str).replace(renamed)
    snapshots["video_id"] = snapshots["video_id"].astype(str).replace(renamed)
    snapshots.to_parquet(out / "snapshots.parquet", index=False)
    videos["caption"] = videos["caption"].astype(str)
    videos.loc[: len(HOSTILE) - 1, "caption"] = HOSTILE
    videos.loc[0, "duration_s"] = -1.0  # rejected: its id goes to the rejects file
    (out / "videos.parquet").unlink()
    videos.to_csv(out / "videos.csv", index=False)
    return out


def test_validate_writes_rejects_without_formulas(hostile_data: Path, tmp_path: Path, cli) -> None:
    # given a data set whose rejected video has a formula id and caption, when it is validated
    cli("validate", str(hostile_data), "--rejects", str(tmp_path))
    # then the rejects file quotes the caption and keeps the id as given: a key must join back
    rows = pd.read_csv(tmp_path / "videos.rejects.csv", dtype=str, keep_default_na=False)
    hostile = rows[rows["video_id"] == HOSTILE[0]]
    assert hostile["caption"].tolist() == ["'" + HOSTILE[0]]


def test_score_to_csv_writes_no_formulas(
    hostile_data: Path, bundle_dir: Path, tmp_path: Path, cli
) -> None:
    # given videos with formula ids, when they are scored to a CSV file
    out = tmp_path / "scores.csv"
    result = cli(
        "score",
        "--input",
        str(hostile_data / "videos.csv"),
        "--output",
        str(out),
        "--model",
        str(bundle_dir),
        env={"LIKECAST_MAX_REJECT_SHARE": "0.5"},
    )
    assert result.code == 0, result.text
    # then every id is there as given (a key must join back), named in a warning, and the
    # rejects' text other than keys holds no formula
    scores = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert set(HOSTILE[1:5]) <= set(scores["video_id"])  # (a CR is read as a new line)
    assert "start like a spreadsheet formula" in " ".join(result.err.split())
    rejects = pd.read_csv(tmp_path / "scores.rejects.csv", dtype=str, keep_default_na=False)
    text = rejects.drop(columns=["video_id", "creator_id"]).to_numpy().ravel().tolist()
    assert not [c for c in text if c.startswith(("=", "+", "@", "\t", "\r"))]
