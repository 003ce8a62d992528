"""`likecast score` records each video's answer in the prediction log, under one request id
per job, unless the log is turned off."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.prediction_log import FEATURE_PREFIX, log_folder, read_log
from training.train import TrainOutcome


@pytest.mark.parametrize("switch", ["on", "off"])
def test_score_logs_every_row_it_scores(
    cli, trained: TrainOutcome, small_data: Path, bundle_dir: Path, tmp_path: Path, switch: str
) -> None:
    # given a home with the prediction log on or off
    home = tmp_path / "home"
    home.mkdir()
    out = tmp_path / "scores.csv"
    # when a file of videos is scored as drafts
    result = cli(
        "score", "--input", str(small_data / "videos.parquet"), "--output", str(out),
        "--model", str(bundle_dir),
        env={"LIKECAST_HOME": str(home), "LIKECAST_PREDICTION_LOG": switch},
    )  # fmt: skip
    assert result.code == 0, result.text

    # then with the log on, every scored video is a line of one job, as the output says
    read = read_log(log_folder(home))
    if switch == "off":
        assert read.files == 0
        return
    scores = pd.read_csv(out, dtype={"video_id": str})
    logged = read.answers.sort_values("item").reset_index(drop=True)
    assert len(logged) == len(scores) == 4000
    assert read.broken_lines == 0
    assert logged["route"].unique().tolist() == ["score"]
    assert logged["request_id"].nunique() == 1
    assert logged["item"].tolist() == list(range(1, 4001))  # the file's row numbers
    assert logged["video_id"].tolist() == scores["video_id"].tolist()
    assert logged["probability"].tolist() == scores["probability"].tolist()
    inputs = [c for c in logged.columns if c.startswith(FEATURE_PREFIX)]
    assert inputs == [FEATURE_PREFIX + name for name in trained.bundle.spec.features]
