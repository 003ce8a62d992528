"""``likecast monitor``: outcomes and the estimate from a log of a model's own answers."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from features.prediction_log import LoggedAnswer
from likecast.settings import get_settings
from models.bundle import Answers, ModelBundle
from tests.training.monitor.answers_log import logged_answers, write_log
from training.train import TrainOutcome


def _home() -> Path:
    return Path(os.environ["LIKECAST_HOME"])


def _answers(trained: TrainOutcome, bundle_dir: Path, squash: bool) -> list[LoggedAnswer]:
    """The model's answers on its test slice, as version 1's log records; squashed: every
    open answer replaced by the same probability, so they no longer rank the videos."""
    bundle = ModelBundle.load(bundle_dir)
    rows = trained.test_rows.drop(columns="label")
    records = logged_answers(bundle, rows, "1")
    if squash:
        p = np.array([r.probability for r in records])
        decided = np.array([r.decided for r in records])
        same = np.where(decided, p, 0.1)
        answers = Answers(same, decided & (p == 1), decided, same, same)
        records = logged_answers(bundle, rows, "1", answers)
    return records


@pytest.fixture(scope="module")
def own_answers(trained: TrainOutcome, bundle_dir: Path) -> Callable[[bool], list[LoggedAnswer]]:
    """``_answers`` made once per module for each ``squash``: each takes seconds, and five
    tests log the same records into their own homes."""
    made: dict[bool, list[LoggedAnswer]] = {}

    def records(squash: bool) -> list[LoggedAnswer]:
        if squash not in made:
            made[squash] = _answers(trained, bundle_dir, squash)
        return made[squash]

    return records


@pytest.mark.usefixtures("tracking_store")
@pytest.mark.slow
def test_outcomes_of_a_models_own_test_slice_are_its_test_figures(
    cli, own_answers, bundle_dir: Path, small_data: Path, tmp_path: Path
) -> None:
    # given a log of the model's answers on its test slice, whose videos the data labels
    write_log(_home(), own_answers(False))
    out = tmp_path / "outcomes.json"
    # when the outcomes are judged against the data
    result = cli(
        "monitor",
        "outcomes",
        "--data",
        str(small_data),
        "--model",
        str(bundle_dir),
        "--json",
        str(out),
    )
    # then nothing alerts, every open answer is labeled, and the realized AUC by age is the
    # test slice's (the same rows, answered as served)
    assert result.code == 0, result.err
    document = json.loads(out.read_text())
    counts = document["counts"]
    assert counts["labeled"] == counts["answers"] - counts["decided"] > 0
    rows = {row["age_bucket"]: row for row in document["rows"]}
    for bucket in ("15", "60", "240"):
        assert rows[bucket]["roc_auc"] == pytest.approx(rows[bucket]["test_roc_auc"], abs=0.02)
        assert not rows[bucket]["alert"]
    assert "realized quality" in result.out
    # and the run is in the model's monitoring experiment, with its plots
    client = MlflowClient(get_settings().resolved_tracking_uri)
    run = client.get_run(document["mlflow_runs"][0])
    assert run.data.tags["likecast.model_version"] == "1"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} == {
        "auc_by_age_v1.png",
        "reliability_v1.png",
    }


@pytest.mark.usefixtures("tracking_store")
@pytest.mark.slow
def test_outcomes_alert_when_answers_no_longer_rank(
    cli, own_answers, bundle_dir: Path, small_data: Path
) -> None:
    # given a log whose open answers are all alike
    write_log(_home(), own_answers(True))
    # when judged
    result = cli("monitor", "outcomes", "--data", str(small_data), "--model", str(bundle_dir))
    # then the realized AUC falls below the test slice's beyond noise: exit 1, naming where
    assert result.code == 1, result.err
    assert "alert: realized ROC AUC below" in result.out


@pytest.mark.parametrize(("squash", "code"), [(False, 0), (True, 1)])
@pytest.mark.slow
def test_estimate_judges_the_answers_before_labels(
    cli, own_answers, bundle_dir: Path, squash: bool, code: int
) -> None:
    # given a log of the model's own answers, or of answers that cannot rank
    write_log(_home(), own_answers(squash))
    # when estimated without labels
    result = cli("monitor", "estimate", "--model", str(bundle_dir))
    # then it alerts only for the answers that cannot rank, says what it cannot see,
    # and leaves its summary where /metrics reads it
    assert result.code == code, result.out + result.err
    assert "concept drift" in result.out
    assert "reference found" in result.out  # trained models freeze one (monitor drift)
    last = json.loads((_home() / "monitoring" / "last.json").read_text())
    assert last["estimate"]["model_version"] == "1"
    assert last["estimate"]["alert"] is bool(code)


@pytest.mark.parametrize("command", [["estimate"], ["outcomes", "--data", "{data}"]])
def test_a_monitor_without_a_log_fails_in_one_line(
    cli, small_data: Path, command: list[str]
) -> None:
    # given no prediction log in the home
    args = [arg.replace("{data}", str(small_data)) for arg in command]
    # when a check runs, then it fails as a user error, in one line
    result = cli("monitor", *args)
    assert result.code == 2
    assert "no logged answers" in result.err


@pytest.mark.slow
def test_the_report_is_one_file_readable_without_a_server(
    cli, own_answers, bundle_dir: Path, small_data: Path, tmp_path: Path
) -> None:
    # given a log of the model's answers and a later crawl of their videos
    write_log(_home(), own_answers(False))
    page = tmp_path / "report.html"
    # when the report is written
    result = cli(
        "monitor",
        "report",
        "--out",
        str(page),
        "--data",
        str(small_data),
        "--model",
        str(bundle_dir),
    )
    # then it is one HTML file whose every image is embedded, with estimated and realized
    # figures and the outcome counts
    assert result.code == 0, result.err
    text = page.read_text()
    assert text.count('src="data:image/png;base64,') == 4  # by day, drift, reliability, AUC
    assert "Drift per feature over time" in text
    assert 'src="http' not in text
    assert "realized_auc" in text
    assert "Outcomes" in text


@pytest.mark.parametrize(
    ("since", "until", "code"),
    [("2026-01-01", "2026-01-02", 0), ("2026-01-02", None, 2), (None, "2025-12-31", 2)],
)
@pytest.mark.usefixtures("tracking_store")
@pytest.mark.slow
def test_a_window_judges_only_the_answers_logged_in_it(
    cli, since: str | None, until: str | None, code: int
) -> None:
    # given 300 answers logged at noon on the first of January
    records = [
        LoggedAnswer(
            logged_at=datetime(2026, 1, 1, 12, tzinfo=UTC),
            request_id=f"r{i}",
            route="draft",
            model_version="7",
            threshold=1000,
            horizon_days=7.0,
            video_id=f"v{i}",
            age_minutes=0.0,
            features={},
            probability=p,
            low=p,
            high=p,
            reached=False,
            decided=False,
        )
        for i, p in enumerate(np.linspace(0.05, 0.6, 300))
    ]
    write_log(_home(), records)
    window = [*(["--since", since] if since else []), *(["--until", until] if until else [])]
    # when the estimate is asked for a window that holds them, or one that does not
    result = cli("monitor", "estimate", *window)
    # then it judges them, or says the window is empty in one line
    assert result.code == code, result.out + result.err
    if code:
        assert "no logged answers between" in result.err
    else:
        assert "300" in result.out
