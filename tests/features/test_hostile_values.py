"""Hostile values in data files and in the CSV files likecast writes (#32, items 2 and 13):
ids kept exactly as given on read and write, other text cells neutralised against every
spreadsheet (a ``;`` starts a cell in many locales), counts read by one rule, and a huge
bad value refused in one short line at once."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from features.csv_safe import FORMULA_LEADS, write_csv
from features.loading import Dataset, load_tables
from features.reading import read_table
from features.validation import Problem, TableResult
from tests.helpers import Result

SAVED = Path(__file__).parents[1] / "models" / "data" / "bundle-2026-12-02" / "bundle"
IDS = ["=1", "'=1", "\r1", "\r=1", "-0N9r10xb_0", " 1", "1 ", "a;=1+1", '"=1"', "1\n2"]
HOSTILE_TEXT = [";=1+1", "a;@SUM(A1)", "x\t=1", "; +1", "=1", "@x", "a\r=1", 'q";=1', "a|=1"]


def _cells(path: Path, delimiter: str) -> list[str]:
    """Every cell of a CSV file as a spreadsheet splitting on ``delimiter`` reads it."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [cell for row in csv.reader(handle, delimiter=delimiter) for cell in row]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
@pytest.mark.parametrize("text", HOSTILE_TEXT)
def test_no_text_cell_starts_a_formula_whatever_the_spreadsheet_splits_on(
    text: str, delimiter: str, tmp_path: Path
) -> None:
    # given a caption that holds a separator followed by a formula
    path = tmp_path / "out.csv"
    write_csv(pd.DataFrame({"video_id": ["v1"], "caption": [text], "p": [0.5]}), path)
    # when a spreadsheet splits the written file on a comma, semicolon, tab or pipe
    cells = _cells(path, delimiter)
    # then no cell it makes starts like a formula (the caption's own is quoted with ')
    assert not [c for c in cells if c.startswith(FORMULA_LEADS)], (text, cells)


def test_ids_are_written_and_read_back_exactly_as_given(tmp_path: Path) -> None:
    # given ids that look like formulas, differ by a quote, or hold a CR, spaces or a newline
    path = tmp_path / "ids.csv"
    write_csv(pd.DataFrame({"video_id": IDS, "caption": IDS}), path)
    # when the written file is read by likecast's loader
    back = read_table(path)
    # then every id is as given and none collides with another
    assert back["video_id"].tolist() == IDS
    assert back["video_id"].nunique() == len(IDS)


@pytest.mark.parametrize(
    ("raw", "ids"),
    [
        (b"video_id,x\n\r1,1\nv2,2\n", ["\r1", "v2"]),  # a CR inside a cell of an LF file
        (b"video_id,x\n\r=1,1\n", ["\r=1"]),
        (b"video_id,x\r\nv1,1\r\nv2,2\r\n", ["v1", "v2"]),  # a CRLF file: no CR kept
        (b'video_id,x\r\n"\r1",1\r\n', ["\r1"]),  # quoted, a CR stays anywhere
    ],
)
def test_a_carriage_return_in_an_id_is_kept_on_read(
    raw: bytes, ids: list[str], tmp_path: Path
) -> None:
    # given a CSV file whose id cell starts with a carriage return
    path = tmp_path / "videos.csv"
    path.write_bytes(raw)
    # when it is read, then the id is as written
    frame = read_table(path)
    assert frame["video_id"].tolist() == ids
    assert not frame["x"].str.endswith("\r").any()


def test_scores_keep_ids_that_differ_by_a_quote_and_warn_about_the_formula(
    tmp_path: Path, cli
) -> None:
    # given two videos whose ids differ only by a leading quote
    videos = tmp_path / "videos.csv"
    ids = ["=1", "'=1", "\r2"]
    write_csv(
        pd.DataFrame({"video_id": ids, "creator_id": "c", "posted_at": "2026-03-01T12:00:00Z"}),
        videos,
    )
    # when they are scored to a CSV file
    out = tmp_path / "scores.csv"
    result = cli("score", "--input", str(videos), "--output", str(out), "--model", str(SAVED))
    # then both are there, apart, as given, and the formula-looking one is named
    assert result.code == 0, result.text
    assert read_table(out)["video_id"].tolist() == ids
    assert "warning: 2 video ids start like a spreadsheet formula (e.g. '=1')" in result.text


def _tables(tmp_path: Path, likes: list[str], ages: list[str] | None = None) -> Dataset:
    videos = tmp_path / "videos.csv"
    videos.write_text(
        "video_id,creator_id,posted_at,duration_s\n"
        "v1,c1,2026-03-01T12:00:00Z,30\nv2,c1,2026-03-02T12:00:00Z,20\n"
    )
    ages = ages or [str(15 * (i + 1)) for i in range(len(likes))]
    rows = "".join(f"v1,{age},{n}\n" for age, n in zip(ages, likes, strict=True))
    snapshots = tmp_path / "snapshots.csv"
    snapshots.write_text("video_id,age_minutes,likes\n" + rows + "v2,15,3\n")
    return load_tables(videos, snapshots)


@pytest.mark.parametrize("likes", ["true", "1_000", "0x10", "1.5", "inf"])
def test_a_file_count_is_read_by_the_requests_rule(likes: str, tmp_path: Path) -> None:
    # given a snapshots file whose likes cell is a boolean, odd numeric text or a fraction
    # when it is loaded
    dataset = _tables(tmp_path, ["1", likes])
    # then that row is set aside naming the column, as a request's likes would be refused
    lines = [p.line() for p in dataset.problems]
    assert any(line.startswith("snapshots.likes:") for line in lines), lines
    assert len(dataset.snapshots) == 2


def test_plain_numeric_text_in_a_file_is_a_count(tmp_path: Path) -> None:
    # given counts as plain numeric text, with an exponent and spaces
    dataset = _tables(tmp_path, ["1", " 2 ", "3e1"])
    # then they are counts
    assert dataset.problems == []
    assert sorted(dataset.snapshots["likes"].tolist()) == [1, 2, 3, 30]


def test_two_counts_of_a_video_at_one_age_are_set_aside(tmp_path: Path) -> None:
    # given two snapshots of one video at the same age with different likes
    dataset = _tables(tmp_path, ["5", "9"], ages=["30", "30"])
    # then the second is set aside as a duplicate (the request's rule: each age once)
    assert [p.rule for p in dataset.problems] == ["duplicate key (video_id, age)"]


def _bad_duration_data(tmp_path: Path, rows: int) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "videos.csv").write_text(
        "video_id,creator_id,posted_at,duration_s\n"
        + "".join(f"v{i},c1,2026-03-01T12:00:00Z,{'x' * 100_000}\n" for i in range(rows))
    )
    (data / "snapshots.csv").write_text("video_id,age_minutes,likes\nv0,15,1\n")
    return data


def _one_short_line(result: Result) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    assert len(result.err) < 400, len(result.err)


@pytest.mark.parametrize("rows", [1, 20])
def test_a_huge_bad_value_is_refused_in_one_short_line(rows: int, tmp_path: Path, cli) -> None:
    # given videos whose every duration_s is 100,000 characters of text
    data = _bad_duration_data(tmp_path, rows)
    # when the data set is validated
    result = cli("validate", str(data), "--rejects", str(tmp_path / "rejects"))
    # then one line names the column and shows the value cut
    _one_short_line(result)
    assert "videos.duration_s: no value is a valid float" in result.text
    assert "(100,000 characters)" in result.text


def test_a_long_unknown_id_is_shown_cut(tmp_path: Path) -> None:
    # given snapshots of a video whose 100,000-character id is not among the videos
    long_id = "z" * 100_000
    dataset = _tables(tmp_path, ["1"])
    snapshots = tmp_path / "snapshots.csv"
    snapshots.write_text(f"video_id,age_minutes,likes\nv1,15,1\n{long_id},15,1\n")
    dataset = load_tables(tmp_path / "videos.csv", snapshots)
    # then the problem's line names it cut, not whole
    line = next(p.line() for p in dataset.problems if p.column == "video_id")
    assert "(100,000 characters)" in line
    assert len(line) < 300


def test_problem_lines_are_capped_and_the_rest_counted() -> None:
    # given a data set with 45 broken rules
    problems = [Problem("videos", f"col{i}", "expected int", (i + 1,)) for i in range(45)]
    result = TableResult("videos", pd.DataFrame(), pd.DataFrame(), 45, problems)
    dataset = Dataset(pd.DataFrame(), pd.DataFrame(), {"videos": result})
    # when they are listed for a person
    lines = dataset.problem_lines()
    # then 20 are shown and the other 25 counted
    assert len(lines) == 21
    assert lines[-1] == "… and 25 more problems, in the rejects files"


def test_validate_names_a_formula_looking_id_kept_in_the_rejects(tmp_path: Path, cli) -> None:
    # given a rejected video whose id starts like a formula
    data = tmp_path / "data"
    data.mkdir()
    (data / "videos.csv").write_text(
        "video_id,creator_id,posted_at,duration_s\n"
        "v1,c1,2026-03-01T12:00:00Z,30\n=HYPERLINK(1),c1,2026-03-01T12:00:00Z,-1\n"
    )
    (data / "snapshots.csv").write_text("video_id,age_minutes,likes\nv1,15,1\n")
    # when the data set is validated
    rejects = tmp_path / "rejects"
    result = cli("validate", str(data), "--rejects", str(rejects), "--max-reject-share", "1")
    # then the rejects file keeps the id as given, and a warning names it
    assert result.code == 0, result.text
    assert read_table(rejects / "videos.rejects.csv")["video_id"].tolist() == ["=HYPERLINK(1)"]
    assert (
        "warning: 1 ids in the rejects start like a spreadsheet formula (e.g. '=HYPERLINK(1)')"
        in result.text
    )
