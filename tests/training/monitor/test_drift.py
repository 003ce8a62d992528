"""`likecast monitor drift`: a window of logged answers against the model's frozen reference."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.prediction_log import FEATURE_PREFIX, log_folder, read_log
from models.reference import Population, Reference
from tests.training.monitor.logged import Halves, answers, split_halves, write_log
from training.monitor.drift import ALL, DriftReport, drift_report
from training.monitor.reference import bin_counts, periods, posting_times, quantile_bins
from training.train import TrainOutcome

WINDOW = 1_500  # answers per window: a few hundred videos at several ages each
FALSE_ALARM = 0.05  # the default drift_false_alarm


@pytest.fixture(scope="module")
def halves(trained: TrainOutcome) -> Halves:
    return split_halves(trained)


@pytest.fixture(scope="module")
def model_dir(halves: Halves, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return halves.bundle.save(tmp_path_factory.mktemp("drift-model") / "bundle")


def window(halves: Halves, seed: int, **options: object) -> list:
    rows = np.sort(np.random.default_rng(seed).choice(len(halves.x), WINDOW, replace=False))
    return answers(
        halves.bundle,
        halves.x.iloc[rows],
        halves.ages[rows],
        halves.videos[rows],
        halves.posted.iloc[rows],
        **options,
    )


def logged_drift(halves: Halves, folder: Path, seed: int) -> DriftReport:
    """The drift check of every answer logged in ``folder`` against the model's reference."""
    return drift_report(
        halves.bundle.reference,
        read_log(log_folder(folder)).answers,
        halves.bundle.spec,
        "local",
        since=None,
        until=None,
        min_rows=100,
        false_alarm=FALSE_ALARM,
        seed=seed,
    )


@pytest.mark.slow
def test_windows_drawn_like_the_reference_alert_at_most_at_the_stated_rate(
    halves: Halves, tmp_path: Path
) -> None:
    # given five windows of held-out videos the reference never saw, from the same weeks
    alerts = []
    for seed in range(5):
        folder = tmp_path / str(seed)
        write_log(folder, window(halves, seed))
        # when each is checked
        report = logged_drift(halves, folder, seed)
        alerts.append(report.alert)
    # then at most one of five alerts (5% each: one of five has a 2% chance), none with reason
    assert sum(alerts) <= 1, alerts


def test_a_quiet_window_exits_0_and_leaves_its_figures_for_metrics(
    cli, halves: Halves, model_dir: Path, tmp_path: Path
) -> None:
    # given a window like the reference
    home = tmp_path / "home"
    write_log(home, window(halves, 0))
    # when drift is checked
    result = cli("monitor", "drift", "--model", str(model_dir), "--no-track")
    # then nothing moved, exit 0, and last.json holds the check
    assert result.code == 0, result.err
    assert "no feature moved" in result.out
    last = json.loads((home / "monitoring" / "last.json").read_text())
    assert last["drift"]["alert"] is False
    assert last["drift"]["model_version"] == "local"
    assert last["drift"]["answers"] == WINDOW


def test_a_shifted_feature_is_named_and_exits_1(
    cli, halves: Halves, model_dir: Path, tmp_path: Path
) -> None:
    # given a window whose completion rates all rose by 60%
    write_log(tmp_path / "home", window(halves, 1, shift={"completion_rate": 1.6}))
    # when drift is checked
    out = tmp_path / "drift.json"
    result = cli("monitor", "drift", "--model", str(model_dir), "--no-track", "--json", str(out))
    # then it alerts, naming the feature; the model leans on it, so it ranks by attribution
    assert result.code == 1, result.err
    report = json.loads(out.read_text())
    assert "completion_rate" in report["moved"]
    assert report["moved_most_attributed"] == report["moved"][0]
    ranks = halves.bundle.reference.attribution
    assert all(ranks[a] >= ranks[b] for a, b in itertools.pairwise(report["moved"]))
    assert report["max_ratio"] > 1
    assert "completion_rate" in result.out


def test_another_versions_answers_are_not_mixed_in(
    cli, halves: Halves, model_dir: Path, tmp_path: Path
) -> None:
    # given a quiet window of this model, and a shifted one of version 7 in the same log
    home = tmp_path / "home"
    write_log(home, window(halves, 2), "a")
    write_log(home, window(halves, 3, version="7", shift={"completion_rate": 1.6}), "b")
    # when drift of this model is checked
    out = tmp_path / "drift.json"
    result = cli("monitor", "drift", "--model", str(model_dir), "--no-track", "--json", str(out))
    # then version 7's answers are left out, counted, and nothing moved
    assert result.code == 0, result.out
    report = json.loads(out.read_text())
    assert report["answers"] == WINDOW
    assert report["left_out"]["other_versions_or_targets"] == WINDOW


def test_a_window_too_small_is_a_user_error(
    cli, halves: Halves, model_dir: Path, tmp_path: Path
) -> None:
    write_log(tmp_path / "home", window(halves, 0)[:50])
    result = cli("monitor", "drift", "--model", str(model_dir), "--no-track")
    assert result.code == 2
    assert "drift needs at least" in result.err


@pytest.mark.subprocess  # MLflow asks git for the code's version
def test_the_check_is_logged_to_mlflow_with_its_plot(
    cli, halves: Halves, model_dir: Path, tmp_path: Path
) -> None:
    # given a window
    write_log(tmp_path / "home", window(halves, 0))
    # when drift is checked with tracking (the home's local store)
    result = cli("monitor", "drift", "--model", str(model_dir))
    assert result.code == 0, result.err
    # then a run in the model's monitoring experiment carries the version and the plot
    from mlflow.tracking import MlflowClient

    from likecast.settings import get_settings

    client = MlflowClient(get_settings().resolved_tracking_uri)
    experiment = client.get_experiment_by_name("likecast-monitoring")
    assert experiment is not None
    [run] = client.search_runs([experiment.experiment_id])
    assert run.data.tags["likecast.model_version"] == "local"
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {"drift.png", "drift.json"}


DAYS = 28  # the reference's span of posting times
PER_DAY = 0.02  # its feature's steady pace: the mean moves this many sds a day


def steady(
    rng: np.random.Generator, days: tuple[float, float], videos: int, pace: float
) -> pd.DataFrame:
    """Videos posted evenly over ``days`` whose feature's mean moved ``PER_DAY`` a day until
    the reference's end, and ``pace`` times that since."""
    posted = np.sort(rng.uniform(*days, videos))
    mean = PER_DAY * np.minimum(posted, DAYS) + pace * PER_DAY * np.maximum(posted - DAYS, 0)
    return pd.DataFrame(
        {
            "posted_at": pd.Timestamp("2026-01-01", tz="UTC") + pd.to_timedelta(posted, unit="D"),
            "video_id": [f"v{days[0]:g}-{i}" for i in range(videos)],
            "x": rng.normal(mean, 1.0),
        }
    )


def steady_reference(frame: pd.DataFrame, age: float) -> Reference:
    """A reference of the one feature ``x`` at one age, built from ``frame`` by hand."""
    values = {"x": frame["x"].to_numpy()}
    bins = {"x": quantile_bins(values["x"])}
    buckets = np.full(len(frame), age)
    return Reference(
        source="by hand",
        rows=len(frame),
        videos=len(frame),
        bins=bins,
        categories=[],
        by_age={
            f"{age:g}": Population(
                rows=len(frame), counts={"x": bin_counts(values["x"], bins["x"])}
            )
        },
        attribution={"x": 1.0},
        periods=periods(
            values,
            bins,
            buckets,
            posting_times(frame["posted_at"]),
            frame["video_id"].to_numpy(),
        ),
    )


def steady_check(reference: Reference, window: pd.DataFrame, halves: Halves) -> DriftReport:
    """``window``'s videos logged at their posting, at the reference's age, and checked."""
    spec = halves.bundle.spec
    logged = pd.DataFrame(
        {
            "logged_at": window["posted_at"],
            "model_version": "local",
            "threshold": spec.threshold,
            "horizon_days": spec.horizon_minutes / 1440,
            "video_id": window["video_id"],
            "age_minutes": float(spec.ages[0]),
            "decided": False,
            FEATURE_PREFIX + "x": window["x"],
        }
    )
    return drift_report(
        reference,
        logged,
        spec,
        "local",
        since=None,
        until=None,
        min_rows=100,
        false_alarm=FALSE_ALARM,
        seed=0,
    )


@pytest.mark.parametrize(("pace", "alerts"), [(1.0, False), (4.0, True)])
def test_a_feature_drifting_at_its_own_pace_is_no_alert_and_faster_is(
    halves: Halves, pace: float, alerts: bool
) -> None:
    # given a reference over four weeks in which x drifted steadily, and a day's window a
    # week after its end, x drifting on at the same pace or four times as fast
    rng = np.random.default_rng(3)
    reference = steady_reference(
        steady(rng, (0, DAYS), 20_000, 1.0), float(halves.bundle.spec.ages[0])
    )
    window = steady(rng, (DAYS + 7, DAYS + 8), 2_000, pace)
    # when drift is checked
    report = steady_check(reference, window, halves)
    # then the window is a distance its own pace explains, beyond chance alone, or is not
    [check] = [c for c in report.checks if c.bucket == ALL]
    assert check.distance > check.noise  # without the pace part, both would alert
    assert check.pace > 0
    assert report.gap_days == pytest.approx(21.5, abs=0.5)
    assert report.alert is alerts, check


def test_a_reference_without_periods_has_no_pace_part_and_says_so(halves: Halves) -> None:
    # given the steady reference as an older bundle keeps it: its JSON without periods
    rng = np.random.default_rng(3)
    built = steady_reference(steady(rng, (0, DAYS), 20_000, 1.0), float(halves.bundle.spec.ages[0]))
    text = json.loads(built.to_json())
    del text["periods"]
    older = Reference.from_json(json.dumps(text))
    # when the window at the same pace is checked against it
    report = steady_check(older, steady(rng, (DAYS + 7, DAYS + 8), 2_000, 1.0), halves)
    # then the thresholds are chance's alone, the report says why, and the drift alerts
    assert all(c.pace == 0 for c in report.checks)
    assert [c.threshold for c in report.checks] == pytest.approx([c.noise for c in report.checks])
    assert report.gap_days is None
    assert report.pace_note is not None
    assert "no pace part" in report.pace_note
    assert report.alert


@pytest.mark.slow
def test_a_backtest_logged_long_after_is_placed_in_time_by_its_posting_times(
    halves: Halves, tmp_path: Path
) -> None:
    # given the same answers logged as served (at posting time plus age), and as a backtest
    # logs them: years later, with each video's posting time
    served = window(halves, 4)
    later = [
        answer.model_copy(
            update={
                "logged_at": answer.logged_at + pd.Timedelta(days=3000),
                "posted_at": answer.logged_at - pd.Timedelta(minutes=answer.age_minutes),
            }
        )
        for answer in served
    ]
    gaps = []
    for name, logged in (("served", served), ("backtest", later)):
        write_log(tmp_path / name, logged)
        # when each is checked
        report = logged_drift(halves, tmp_path / name, seed=0)
        gaps.append(report.gap_days)
    # then both lie as far from the reference in time: the pace is carried by posting time
    assert gaps[0] is not None
    assert gaps[0] < 100
    assert gaps[1] == pytest.approx(gaps[0], abs=1e-6)


@pytest.mark.parametrize("seed", range(4))
def test_a_few_videos_asked_again_and_again_do_not_raise_an_alert(
    halves: Halves, seed: int
) -> None:
    # given a reference of a steady x, and a day's window of 400 videos drawn like it in
    # which one video in ten was asked about 30 times (a client polling it), the others once
    rng = np.random.default_rng(10 + seed)
    frame = steady(rng, (0, DAYS), 20_000, 1.0).assign(x=lambda f: rng.normal(size=len(f)))
    reference = steady_reference(frame, float(halves.bundle.spec.ages[0]))
    videos = steady(rng, (DAYS, DAYS + 1), 400, 1.0).assign(x=lambda f: rng.normal(size=len(f)))
    asked = np.where(np.arange(len(videos)) % 10 == 0, 30, 1)
    window = videos.loc[videos.index.repeat(asked)].reset_index(drop=True)
    # when drift is checked
    report = steady_check(reference, window, halves)
    # then the window is 400 videos' evidence, not 1,560 answers' nor 40 videos' own: no alert
    assert not report.alert, [c for c in report.checks if c.moved]
