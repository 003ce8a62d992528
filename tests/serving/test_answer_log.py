"""The prediction log's writer: every answer a line with the inputs the model saw, written
off the request path, rotated, droppable when full, off when asked, and whole after a kill."""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from features.prediction_log import FEATURE_PREFIX, log_files, read_log
from features.store import CreatorStore
from likecast.settings import Settings
from models.registry import LoadedModel
from serving.core.answer_log import (
    NAT,
    REQUEST_ID,
    ROWS_PER_LINE,
    AnswerLog,
    Entry,
    LogState,
    lines,
)
from serving.core.predictor import Predictor
from serving.core.requests import Draft, Early
from tests.helpers import wait_until
from training.train import TrainOutcome

DRAFT = {"creator_id": "c000003", "category": "food", "duration_s": 35.0, "video_id": "v1"}
NAMES = ("likes", "duration_s")


def logging_predictor(trained: TrainOutcome, tmp_path: Path) -> tuple[Predictor, AnswerLog]:
    log = AnswerLog(tmp_path / "predictions", 2**20, 3600.0, 1000)
    loaded = LoadedModel(trained.bundle, "folder", "7", None)
    predictor = Predictor(loaded, CreatorStore(tmp_path / "no-store.sqlite"), Settings())
    predictor.log = log
    return predictor, log


def entry(n: int, request_id: str = "r", likes: float = 5.0) -> Entry:
    """``n`` answers of a made-up model with two inputs, the second unknown."""
    return Entry(
        at=time.time(),
        request_id=request_id,
        model_version="1",
        threshold=1000,
        horizon_days=7.0,
        names=NAMES,
        matrix=np.array([[likes, np.nan]] * n),
        route=["early"] * n,
        item=None,
        video_id=[f"v{i}" for i in range(n)],
        creator_id=["c"] * n,
        category=[None] * n,
        posted_ns=np.zeros(n, dtype="int64"),
        age_minutes=[60.0] * n,
        probability=[0.25] * n,
        low=[0.2] * n,
        high=[0.3] * n,
        reached=[False] * n,
        decided=[False] * n,
        warnings=None,
    )


def test_every_route_logs_its_answers_with_the_inputs_the_model_saw(
    trained: TrainOutcome, tmp_path: Path
) -> None:
    # given a predictor that logs, asked under one request id on each of its paths
    predictor, log = logging_predictor(trained, tmp_path)
    early = Early(**DRAFT, age_minutes=90.0, likes=12)
    token = REQUEST_ID.set("req-1")
    try:
        draft_answer = predictor.predict([Draft(**DRAFT)])[0]
        predictor.predict([early])
        batch = predictor.predict_batch([{"creator_id": "x"}, {"creator_id": ""}, DRAFT])
        whatif = predictor.whatif(Draft(**DRAFT))
    finally:
        REQUEST_ID.reset(token)

    # when the log is written and read
    assert log.flush()
    answers = read_log(tmp_path / "predictions").answers

    # then each answer is a line: its route, the request id, batch items by their index
    assert answers["route"].tolist() == ["draft", "early", "batch", "batch", "whatif"]
    assert set(answers["request_id"]) == {"req-1"}
    assert answers["item"].tolist()[2:4] == [0, 2]  # item 1 was refused: no answer
    assert batch.results[1].error is not None
    assert answers["video_id"].fillna("-").tolist() == ["v1", "v1", "-", "v1", "v1"]
    assert answers["model_version"].unique().tolist() == ["7"]
    # the numbers as answered, and the inputs as the model saw them (its matrix row)
    assert answers["probability"].iloc[0] == draft_answer.probability
    assert answers["probability"].iloc[4] == whatif.current
    seen = predictor.build([early]).rows.matrix[0]
    logged = answers.loc[1, [FEATURE_PREFIX + n for n in trained.bundle.spec.features]]
    np.testing.assert_array_equal(logged.to_numpy(dtype=float), seen)
    assert answers["age_minutes"].tolist()[:2] == [0.0, 90.0]


def test_a_predictor_without_a_log_writes_nothing(trained: TrainOutcome, tmp_path: Path) -> None:
    # given a predictor whose log was never set (as while its model is validated)
    predictor, _ = logging_predictor(trained, tmp_path)
    predictor.log = None
    # when it answers, then no file is written
    predictor.predict([Draft(**DRAFT)])
    assert log_files(tmp_path / "predictions") == []


class Clock:
    """Seconds since the epoch that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1.8e9

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("lines_per_file", "hours_between", "files"),
    [(None, 0.0, 1), (1, 0.0, 3), (None, 1.0, 3)],
    ids=["none", "by-size", "by-age"],
)
def test_files_rotate_by_size_and_by_age_and_keep_whole_lines(
    tmp_path: Path, lines_per_file: int | None, hours_between: float, files: int
) -> None:
    # given a log whose files close after an hour, or at a size of so many lines
    line = len(lines([entry(10)])[0])
    max_bytes = 2**20 if lines_per_file is None else int(line * (lines_per_file + 0.5))
    clock = Clock()
    log = AnswerLog(tmp_path, max_bytes, 3600.0, 1000, clock=clock)
    # when three entries are written, in three cycles, the clock moving between them
    for i in range(3):
        log.record(entry(10, f"r{i}"))
        assert log.flush()
        clock.now += hours_between * 3600
    log.close()

    # then the answers spread over new files, none past the size, every line whole
    read = read_log(tmp_path)
    assert (read.files, read.broken_lines, len(read.answers)) == (files, 0, 30)
    assert all(path.stat().st_size <= max_bytes for path in log_files(tmp_path))


@pytest.mark.parametrize(("answers", "lines"), [(1, 1), (ROWS_PER_LINE, 1), (2500, 3)])
def test_an_entry_is_one_line_of_columns_up_to_a_bound(
    tmp_path: Path, answers: int, lines: int
) -> None:
    # given an entry of many answers, each with its place in the batch
    many = dataclasses.replace(entry(answers), item=list(range(answers)))
    # when it is written
    log = AnswerLog(tmp_path, 2**30, 3600.0, 10**4)
    log.record(many)
    log.close()
    # then it takes a line per ROWS_PER_LINE answers, and every answer reads back in order
    assert sum(len(p.read_bytes().splitlines()) for p in log_files(tmp_path)) == lines
    read = read_log(tmp_path).answers
    assert read["item"].tolist() == list(range(answers))
    assert read[FEATURE_PREFIX + "duration_s"].isna().all()
    assert log.state.written == answers


def test_answers_of_one_model_written_together_share_a_line(tmp_path: Path) -> None:
    # given single answers of three requests, then one of another model, in one cycle
    singles = [entry(1, f"r{i}") for i in range(3)]
    other = dataclasses.replace(entry(1, "r3"), model_version="2")
    # when they are formatted together, then the first three share a line
    assert len(lines([*singles, other])) == 2
    # and each answer reads back with its own request id, in order
    log = AnswerLog(tmp_path, 2**20, 3600.0, 10)
    for each in [*singles, other]:
        log.record(each)
    log.close()
    read = read_log(tmp_path).answers
    assert read["request_id"].tolist() == ["r0", "r1", "r2", "r3"]
    assert read["model_version"].tolist() == ["1", "1", "1", "2"]


def test_a_missing_interval_and_posting_time_read_back_as_empty(tmp_path: Path) -> None:
    # given an answer without an interval (an older model) of a video of unknown posting time
    unknown = dataclasses.replace(
        entry(1), low=[float("nan")], high=[float("nan")], posted_ns=np.array([NAT])
    )
    log = AnswerLog(tmp_path, 2**20, 3600.0, 10)
    log.record(unknown)
    log.close()
    # then its interval is empty at its probability, and its posting time unknown
    read = read_log(tmp_path).answers
    assert read[["probability", "low", "high"]].iloc[0].tolist() == [0.25] * 3
    assert read["posted_at"].isna().all()


class Heard:
    def __init__(self) -> None:
        self.answers = 0
        self.states: list[LogState] = []

    def answered(self, entry: Entry) -> None:
        self.answers += len(entry)

    def cycled(self, state: LogState) -> None:
        self.states.append(state)


def test_off_writes_no_file_and_still_tells_the_watchers(tmp_path: Path) -> None:
    # given the log turned off by its setting
    log = AnswerLog.of(Settings(home=tmp_path, prediction_log="off"))  # type: ignore[arg-type]
    heard = Heard()
    log.watchers.append(heard)
    # when answers are recorded
    log.record(entry(3))
    assert log.flush()
    # then nothing is written, and the watchers heard of them
    assert log.folder is None
    assert not (tmp_path / "predictions").exists()
    assert heard.answers == 3


def test_a_full_queue_drops_and_counts_instead_of_waiting(tmp_path: Path) -> None:
    # given a log that may hold 5 answers, and a writer that cycles every half second
    log = AnswerLog(tmp_path, 2**20, 3600.0, 5)
    heard = Heard()
    log.watchers.append(heard)
    # when 3 answers, then 3 more are recorded at once
    kept = [log.record(entry(3, "first")), log.record(entry(3, "second"))]
    assert log.flush()
    log.close()

    # then the second entry was dropped (a record that waited for room would have kept it),
    # counted, and never written
    assert kept == [True, False]
    assert log.state.dropped == 3
    assert read_log(tmp_path).answers["request_id"].unique().tolist() == ["first"]
    assert heard.states[-1].written == 3


# records as fast as the writer takes them: a full queue makes it wait for room
WRITER = """
import sys, time
from pathlib import Path
import numpy as np
sys.path.insert(0, {root!r})
from serving.core.answer_log import AnswerLog, Entry
log = AnswerLog(Path({folder!r}), 1 << 30, 3600.0, 2000)
n, i = 200, 0
while True:
    log.record(Entry(
        time.time(), f"r{{i}}", "1", 1000, 7.0, ("likes", "duration_s"),
        np.array([[float(i), np.nan]] * n), ["early"] * n, None, ["v"] * n, ["c"] * n,
        [None] * n, np.zeros(n, dtype="int64"), [60.0] * n, [0.25] * n, [0.2] * n, [0.3] * n,
        [False] * n, [False] * n, None,
    ), wait=True)
    i += 1
"""


@pytest.mark.subprocess
def test_a_killed_writer_leaves_whole_lines_behind(tmp_path: Path) -> None:
    # given a process logging answers as fast as it can
    root = str(Path(__file__).parents[2])
    script = WRITER.format(root=root, folder=str(tmp_path))
    process = subprocess.Popen([sys.executable, "-c", script], cwd=root)
    try:
        wait_until(lambda: sum(p.stat().st_size for p in log_files(tmp_path)) > 2**18, 60, "lines")
    finally:
        # when it is killed mid-work
        os.kill(process.pid, signal.SIGKILL)
        process.wait()

    # then every line but at most a broken last one reads back, in the order written
    read = read_log(tmp_path)
    assert read.broken_lines <= 1
    assert len(read.answers) > 500
    likes = read.answers[FEATURE_PREFIX + "likes"].to_numpy()
    assert (np.diff(likes) >= 0).all()
