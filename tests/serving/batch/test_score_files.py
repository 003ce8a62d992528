"""`likecast score` on files, in this process (``main(argv)``): its outputs, rejects, refusals
and backtests. Through a real child process and on Dask: ``test_scoring.py``."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.labels import label_videos
from features.loading import Dataset
from tests.helpers import Result


def score(cli, home: Path, *args: str) -> Result:
    """``likecast score`` in this process with ``home`` as its LIKECAST_HOME."""
    return cli("score", *args, env={"LIKECAST_HOME": str(home)})


def test_scores_answer_like_the_model_does_on_the_same_rows(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given drafts (no snapshots) scored to CSV
    out = tmp_path / "drafts.csv"
    result = score(
        cli, home, "--input", str(small_data / "videos.parquet"), "--output", str(out),
        "--model", str(bundle_dir),
    )  # fmt: skip
    assert result.code == 0, result.text
    scores = pd.read_csv(out)
    # then every video has a probability in [0, 1] inside its interval, at age 0, with the
    # model's settings
    assert len(scores) == 4000
    assert scores["probability"].between(0, 1).all()
    assert (
        scores["probability"].between(scores["probability_low"], scores["probability_high"]).all()
    )
    assert (scores["age_minutes"] == 0).all()
    assert set(scores["threshold"]) == {1000}
    assert set(scores["model_version"]) == {"local"}
    assert "scored 4,000 of 4,000 videos" in " ".join(result.err.split())


def test_explain_adds_each_videos_factors_as_a_json_list(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given 40 videos scored an hour after posting, from their snapshots, with --explain
    source = tmp_path / "few.parquet"
    pd.read_parquet(small_data / "videos.parquet").head(40).to_parquet(source, index=False)
    out = tmp_path / "explained.parquet"
    result = cli(
        "score", "--input", str(source), "--output", str(out), "--model", str(bundle_dir),
        "--snapshots", str(small_data / "snapshots.parquet"), "--age-minutes", "60",
        "--explain", env={"LIKECAST_HOME": str(home)},
    )  # fmt: skip
    assert result.code == 0, result.text
    # then every row carries a list of at most five factors, biggest first, in plain English;
    # a row the counts decided has none
    scores = pd.read_parquet(out)
    factors = [json.loads(f) for f in scores["factors"]]
    assert len(factors) == 40
    assert any(factors)
    for listed, decided in zip(factors, scores["decided"], strict=True):
        assert len(listed) <= 5
        assert [abs(f["points"]) for f in listed] == sorted(
            (abs(f["points"]) for f in listed), reverse=True
        )
        assert all(set(f) == {"key", "direction", "points", "text", "contribution"} for f in listed)
        assert all(f["text"].isascii() for f in listed)
        if decided:
            assert listed == []


def test_bad_rows_go_to_the_rejects_file_and_the_limit_sets_the_exit_code(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given a CSV of videos with three broken rows (data rows 1, 10 and 100)
    videos = pd.read_parquet(small_data / "videos.parquet").astype(object)
    videos.loc[0, "duration_s"] = "-5"
    videos.loc[9, "posted_at"] = "yesterday"
    videos.loc[99, "video_id"] = ""
    few = tmp_path / "few.csv"
    videos.to_csv(few, index=False)
    out = tmp_path / "out.parquet"
    # when it is scored: 3 of 4000 rejected, under the 1% limit
    result = score(cli, home, "--input", str(few), "--output", str(out), "--model", str(bundle_dir))
    # then the job succeeds, the good rows are scored and the bad ones explained
    assert result.code == 0, result.text
    assert len(pd.read_parquet(out)) == 3997
    rejects = pd.read_csv(tmp_path / "out.rejects.csv")
    assert rejects["_row"].tolist() == [1, 10, 100]
    assert "duration_s: must be > 0" in rejects["_reason"][0]
    assert "posted_at: expected timestamp" in rejects["_reason"][1]
    assert "video_id: required value missing" in rejects["_reason"][2]

    # given the same file with 100 broken rows (2.5%, over the limit)
    videos.loc[:99, "duration_s"] = "-1"
    many = tmp_path / "many.csv"
    videos.to_csv(many, index=False)
    out.unlink()
    result = score(
        cli, home, "--input", str(many), "--output", str(out), "--model", str(bundle_dir)
    )
    # then it fails with one line saying so, and writes no output
    assert result.code == 2
    assert "100 of 4000 videos rejected (2.5% > limit 1.0%)" in " ".join(result.err.split())
    assert "Traceback" not in result.err
    assert not out.exists()
    assert len(pd.read_csv(tmp_path / "out.rejects.csv")) == 100


def test_a_video_with_a_bad_snapshot_is_set_aside_with_the_reason(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    # given snapshots where one video's likes go negative
    snapshots = pd.read_parquet(small_data / "snapshots.parquet")
    video = snapshots["video_id"].iloc[0]
    snapshots.loc[snapshots.index[1], "likes"] = -3
    broken = tmp_path / "snapshots.parquet"
    snapshots.to_parquet(broken, index=False)
    out = tmp_path / "early.parquet"
    # when the videos are scored one hour after posting
    result = score(
        cli, home, "--input", str(small_data / "videos.parquet"), "--output", str(out),
        "--snapshots", str(broken), "--age-minutes", "60", "--model", str(bundle_dir),
    )  # fmt: skip
    # then the bad snapshot is set aside with its video and rule, and its video is not
    # scored from its other counts (the service refuses such a request too)
    assert result.code == 0, result.text
    rejects = pd.read_csv(tmp_path / "early.snapshots.rejects.csv")
    assert rejects["video_id"].tolist() == [video]
    assert "likes: must be >= 0" in rejects["_reason"][0]
    videos = pd.read_csv(tmp_path / "early.rejects.csv")
    assert videos["video_id"].tolist() == [video]
    assert "snapshots: likes: must be >= 0" in videos["_reason"][0]
    assert len(pd.read_parquet(out)) == 3999


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--age-minutes", "60", "--at", "2026-01-01"], "give --age-minutes or --at, not both"),
        (["--scheduler", "tcp://127.0.0.1:1"], "--scheduler needs --engine dask"),
        (["--at", "soon"], "--at: not an ISO time"),
        (
            ["--snapshots", "/nonexistent/s.parquet", "--age-minutes", "60"],
            "/nonexistent/s.parquet: no such file",
        ),
        (["--snapshots", "/nonexistent/s.parquet"], "give --age-minutes A"),
    ],
)
def test_contradictory_or_wrong_options_exit_2_with_one_line(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path, extra: list[str], message: str
) -> None:
    result = cli(
        "score", "--input", str(small_data / "videos.parquet"), "--output",
        str(tmp_path / "o.parquet"), "--model", str(bundle_dir), *extra,
    )  # fmt: skip
    assert result.code == 2
    assert message in result.text
    assert not (tmp_path / "o.parquet").exists()


@pytest.mark.parametrize(
    ("output", "engine", "message"),
    [
        ("o.json", "local", "output must end in .parquet or .csv"),
        ("o", "dask", "the dask engine reads Parquet"),
    ],
)
def test_unsupported_files_are_named(
    cli, small_data: Path, bundle_dir: Path, tmp_path: Path, output: str, engine: str, message: str
) -> None:
    csv = tmp_path / "videos.csv"
    pd.read_parquet(small_data / "videos.parquet").head(50).to_csv(csv, index=False)
    result = cli(
        "score", "--input", str(csv), "--output", str(tmp_path / output),
        "--model", str(bundle_dir), "--engine", engine,
    )  # fmt: skip
    assert result.code == 2
    assert message in result.text


@pytest.mark.slow
def test_a_backtest_sees_nothing_after_its_moment(
    small_data: Path, small_dataset: Dataset, bundle_dir: Path, tmp_path: Path, cli
) -> None:
    # given one store materialized over all the data and one materialized at a past moment
    moment = small_dataset.videos["posted_at"].quantile(0.6).isoformat()
    homes = {"full": tmp_path / "full", "then": tmp_path / "then"}
    for name, extra in (("full", []), ("then", ["--at", moment])):
        made = cli("features", "materialize", "--data", str(small_data), *extra,
                   env={"LIKECAST_HOME": str(homes[name])})  # fmt: skip
        assert made.code == 0, made.text
    # when the same videos are scored at that moment with each store
    outputs = {}
    for name, home in homes.items():
        outputs[name] = tmp_path / f"{name}.parquet"
        result = cli(
            "score", "--input", str(small_data / "videos.parquet"),
            "--output", str(outputs[name]), "--snapshots", str(small_data / "snapshots.parquet"),
            "--at", moment, "--model", str(bundle_dir), env={"LIKECAST_HOME": str(home)},
        )  # fmt: skip
        assert result.code == 0, result.text
    # then the probabilities are the same: the full store leaks no later outcome
    full, then = pd.read_parquet(outputs["full"]), pd.read_parquet(outputs["then"])
    assert len(full) > 1000
    pd.testing.assert_frame_equal(full, then)


def test_a_moment_before_the_store_is_refused_with_the_fix(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path
) -> None:
    result = score(
        cli, home, "--input", str(small_data / "videos.parquet"), "--output",
        str(tmp_path / "o.parquet"), "--at", "2020-01-01", "--model", str(bundle_dir),
    )  # fmt: skip
    assert result.code == 2
    assert "oldest state" in result.err
    assert "likecast features materialize" in result.err
    assert "Traceback" not in result.err


def test_at_the_horizon_every_labeled_video_scores_its_own_outcome(
    cli, home: Path, small_data: Path, small_dataset: Dataset, bundle_dir: Path, tmp_path: Path
) -> None:
    # given the videos and their snapshots, scored at the 7-day horizon
    out = tmp_path / "horizon.parquet"
    result = score(
        cli, home, "--input", str(small_data / "videos.parquet"), "--output", str(out),
        "--snapshots", str(small_data / "snapshots.parquet"), "--age-minutes", "10080",
        "--model", str(bundle_dir),
    )  # fmt: skip
    assert result.code == 0, result.text
    # then every labeled video is decided, and its probability is its label (1 or 0)
    labels = label_videos(small_dataset.videos, small_dataset.snapshots, 1000, 10080.0)
    scores = pd.read_parquet(out).merge(labels, on="video_id")
    labeled = scores[scores["labeled"]]
    assert len(labeled) > 3000
    assert labeled["decided"].all()
    np.testing.assert_array_equal(labeled["probability"], labeled["label"])
    assert (labeled["reached"] == (labeled["label"] == 1)).all()


@pytest.mark.parametrize("with_store", [True, False])
def test_scoring_without_a_creator_store_warns_that_every_creator_is_new(
    cli, home: Path, small_data: Path, bundle_dir: Path, tmp_path: Path, with_store: bool
) -> None:
    # given a home with the creator store, or an empty one
    where = home if with_store else tmp_path / "empty-home"
    # when drafts are scored
    out = tmp_path / "drafts.csv"
    result = score(
        cli, where, "--input", str(small_data / "videos.parquet"), "--output", str(out),
        "--model", str(bundle_dir),
    )  # fmt: skip
    # then they are scored either way, and only without a store does it say that every
    # creator was a cold start, and how to build the store
    assert result.code == 0, result.text
    said = " ".join(result.err.split())
    assert ("every creator is scored as a cold start" in said) is not with_store
    assert ("likecast features materialize" in said) is not with_store
