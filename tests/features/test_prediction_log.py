"""The prediction log's contract: what one side writes, the other reads, broken lines counted."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from features.prediction_log import FEATURE_PREFIX, LoggedAnswer, log_folder, read_log

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

    # when a window of them is read
    def at(minutes: int | None) -> datetime | None:
        return None if minutes is None else START + timedelta(minutes=minutes)

    read = read_log(folder, since=at(since), until=at(until))

    # then only those logged within it come back
    assert read.answers["request_id"].tolist() == expected


def test_no_log_yet_reads_as_no_answers(tmp_path: Path) -> None:
    read = read_log(log_folder(tmp_path))
    assert read.answers.empty
    assert read.files == 0
