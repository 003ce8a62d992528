"""Ids are keys (#27, item 8): a CSV of scores writes each video id exactly as given, so it
joins back to the user's tables; ``'-0N9r10xb_0`` for ``-0N9r10xb_0`` lost 64 of youtube_in's
16,303 videos. A formula-looking id is named in a warning instead; other text cells (the
rejects' captions) stay neutralised."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from features.csv_safe import csv_safe, formula_like

SAVED = Path(__file__).parents[2] / "models" / "data" / "bundle-2026-12-02" / "bundle"
IDS = ["-0N9r10xb_0", "=HYPERLINK(1)", "+1+cmd", "@SUM(A1)", "plain_id", "-1.5"]


def _warnings(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("warning:")]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def videos(tmp_path: Path) -> Path:
    """Videos whose ids start like formulas, and one rejected row with a formula caption."""
    frame = pd.DataFrame(
        {
            "video_id": [*IDS, "-bad"],
            "creator_id": [*["c1"] * len(IDS), "-creator"],
            "posted_at": "2026-03-01T12:00:00+00:00",
            "category": "food",
            "duration_s": [*[30.0] * len(IDS), -1.0],
            "caption": [*[""] * len(IDS), "=1+1"],
        }
    )
    path = tmp_path / "videos.csv"
    frame.to_csv(path, index=False)
    return path


def test_ids_are_written_as_given_and_named_in_a_warning(videos: Path, tmp_path: Path, cli) -> None:
    # given videos whose ids start like spreadsheet formulas, when scored to a CSV file
    out = tmp_path / "scores.csv"
    result = cli(
        "score", "--input", str(videos), "--output", str(out), "--model", str(SAVED),
        env={"LIKECAST_MAX_REJECT_SHARE": "0.5"},
    )  # fmt: skip
    assert result.code == 0, result.text
    # then every id joins back exactly
    assert [row["video_id"] for row in _rows(out)] == IDS
    # and stderr names a formula-looking id in one warning line
    warning = [line for line in _warnings(result.err) if "creator store" not in line]
    assert len(warning) == 1, result.err
    assert "4 video ids" in warning[0]
    assert "'-0N9r10xb_0'" in warning[0]
    # and the rejects keep their keys as given but quote the caption
    rejected = _rows(tmp_path / "scores.rejects.csv")
    assert [(r["video_id"], r["creator_id"], r["caption"]) for r in rejected] == [
        ("-bad", "-creator", "'=1+1")
    ]


def test_a_clean_file_gives_no_warning(tmp_path: Path, cli) -> None:
    # given videos with plain ids, when scored to a CSV file without a creator store
    path = tmp_path / "videos.csv"
    pd.DataFrame(
        {"video_id": ["a", "b"], "creator_id": "c", "posted_at": "2026-03-01T12:00:00Z"}
    ).to_csv(path, index=False)
    result = cli("score", "--input", str(path), "--output", str(tmp_path / "s.csv"),
                 "--model", str(SAVED))  # fmt: skip
    assert result.code == 0, result.text
    # then the one warning is the store's: nothing of the ids
    warnings = _warnings(result.err)
    assert len(warnings) == 1, result.err
    assert warnings[0].startswith("warning: no creator store at ")


def test_keys_are_kept_and_other_text_is_quoted() -> None:
    # given a frame with formula-looking keys and captions, when it is made CSV-safe
    frame = pd.DataFrame({"video_id": IDS, "creator_id": IDS, "caption": IDS})
    safe = csv_safe(frame)
    # then the keys are as given and the captions quoted (a plain number stays a number)
    assert safe["video_id"].tolist() == IDS
    assert safe["creator_id"].tolist() == IDS
    assert safe["caption"].tolist() == ["'" + i for i in IDS[:4]] + IDS[4:]
    # and the formula-looking keys are the ones a warning names
    assert formula_like(frame["video_id"]).tolist() == IDS[:4]
