"""The prediction log's contract: what one side writes, the other reads, broken lines counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from features.prediction_log import (
    FEATURE_PREFIX,
    FORMAT,
    LoggedAnswer,
    LoggedEntry,
    log_folder,
    read_log,
)

START = datetime(2026, 12, 1, tzinfo=UTC)


def answer(minutes: int, **changes: object) -> LoggedAnswer:
    values: dict[str, object] = {
        "logged_at": START + timedelta(minutes=minutes),
        "request_id": f"r{minutes}",
        "route": "early",
        "model_version": "3",
        "threshold": 1000,
        "horizon_days": 7.0,
        "video_id": f"v{minutes}",
        "age_minutes": 60.0,
        "features": {"likes": 40.0, "completion_rate": None},
        "probability": 0.3,
        "low": 0.2,
        "high": 0.4,
        "reached": False,
        "decided": False,
    }
    values.update(changes)
    return LoggedAnswer.model_validate(values)


PER_ANSWER = ("logged_at", "request_id", "route", "video_id", "creator_id", "category")
PER_ANSWER += (
    "age_minutes",
    "probability",
    "low",
    "high",
    "reached",
    "decided",
    "warnings",
    "item",
)


def entry_of(*answers: LoggedAnswer) -> LoggedEntry:
    """Answers of one model as one format-2 entry."""
    first = answers[0]
    names = list(first.features)
    columns = {name: [getattr(a, name) for a in answers] for name in PER_ANSWER}
    return LoggedEntry(
        v=FORMAT,
        model_version=first.model_version,
        threshold=first.threshold,
        horizon_days=first.horizon_days,
        names=names,
        posted_ns=[
            None if a.posted_at is None else int(a.posted_at.timestamp()) * 10**9 for a in answers
        ],
        features=[[a.features[n] for n in names] for a in answers],
        **columns,  # type: ignore[arg-type]
    )


def test_both_formats_read_into_the_same_rows(tmp_path: Path) -> None:
    # given the same answers as lines of format 1 (one answer each, as logs written before
    # format 2 hold) and as entries of format 2 (one of a single answer, one of three)
    posted = START - timedelta(hours=2)
    batch = [
        answer(2, request_id="b", route="batch", item=i, warnings=["w"], posted_at=posted)
        for i in range(2)
    ]
    answers = [answer(0, creator_id="c1", category="food"), answer(1), *batch]
    old, new = log_folder(tmp_path / "old"), log_folder(tmp_path / "new")
    old.mkdir(parents=True)
    new.mkdir(parents=True)
    (old / "a.jsonl").write_text("".join(a.line() for a in answers))
    entries = [entry_of(answers[0]), entry_of(answers[1], *batch)]
    (new / "a.jsonl").write_text("".join(e.model_dump_json() + "\n" for e in entries))

    # when each log is read
    then, now = read_log(old), read_log(new)

    # then they read into the same frame, row for row
    pd.testing.assert_frame_equal(then.answers, now.answers)
    assert now.answers["item"].tolist()[2:] == [0, 1]
    assert (then.broken_lines, now.broken_lines) == (0, 0)


@pytest.mark.parametrize(
    "broken",
    [
        lambda line: line[:30],  # a killed writer's last line
        lambda line: line.replace('"v":2', '"v":3'),  # a format this reader does not know
        lambda line: line.replace('"route":["early"]', '"route":["early","early"]'),
        lambda line: line.replace('"logged_at":["', '"logged_at":["x'),
    ],
    ids=["cut", "unknown-format", "uneven-columns", "not-an-instant"],
)
def test_a_broken_entry_is_counted_not_read(tmp_path: Path, broken) -> None:
    # given a log of two format-2 lines, the second broken
    folder = log_folder(tmp_path)
    folder.mkdir()
    lines = [entry_of(answer(m)).model_dump_json() + "\n" for m in range(2)]
    (folder / "a.jsonl").write_text(lines[0] + broken(lines[1]))
    # when read, then the whole line is a row and the broken one is counted
    read = read_log(folder)
    assert (read.answers["request_id"].tolist(), read.broken_lines) == (["r0"], 1)


def test_answers_written_as_lines_read_back_as_rows(tmp_path: Path) -> None:
    # given two files of the log, one ending in a line a killed worker broke off
    folder = log_folder(tmp_path)
    folder.mkdir()
    (folder / "20261201T000000-1.jsonl").write_text(answer(0).line() + answer(1).line())
    (folder / "20261201T000500-2.jsonl").write_text(answer(2).line() + answer(3).line()[:30])

    # when the log is read
    read = read_log(folder)

    # then every whole line is a row, its inputs are columns, and the broken line is counted
    assert list(read.answers["request_id"]) == ["r0", "r1", "r2"]
    assert read.answers[FEATURE_PREFIX + "likes"].tolist() == [40.0] * 3
    assert read.answers[FEATURE_PREFIX + "completion_rate"].isna().all()
    assert (read.broken_lines, read.files) == (1, 2)


@pytest.mark.parametrize(
    ("since", "until", "expected"),
    [(None, None, ["r0", "r1", "r2"]), (1, None, ["r1", "r2"]), (None, 2, ["r0", "r1"])],
)
def test_a_window_keeps_the_answers_logged_within_it(
    tmp_path: Path, since: int | None, until: int | None, expected: list[str]
) -> None:
    # given three answers a minute apart
    folder = log_folder(tmp_path)
    folder.mkdir()
    (folder / "a.jsonl").write_text("".join(answer(m).line() for m in range(3)))
    # and the same three in one format-2 line
    (folder / "b.jsonl").write_text(
        entry_of(*(answer(m, request_id=f"r{m}'") for m in range(3))).model_dump_json() + "\n"
    )

    # when a window of them is read
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else START + timedelta(minutes=minutes)

    read = read_log(folder, since=at(since), until=at(until))

    # then only those logged within it come back, from both lines
    assert read.answers["request_id"].tolist() == [i for r in expected for i in (r, r + "'")]


def test_no_log_yet_reads_as_no_answers(tmp_path: Path) -> None:
    read = read_log(log_folder(tmp_path))
    assert read.answers.empty
    assert read.files == 0
