"""Drift harness: does ``likecast monitor drift`` see each simulated change, and only those?

A model is trained on a simulated platform's first ``--train-days`` days (the data as it
stood then). The same platform (same seed) is then made again under each scenario, changing
on ``--change-day``; every video posted after training is answered by the model at each of
its grid ages, each answer logged at the moment it was asked (posting time + age), as the
service logs it. The log is cut into windows of ``--window-days`` and each window checked.

Per scenario: the windows after the change that alert (detection rate), the days from the
change to the end of the first alerting window (time to detect), and the windows before the
change that alert (false alarms). The anchor is the same windows with no scenario: the
platform's own slow changes (creators accumulate history) are in both, so what a scenario
adds is its change. Targets (issue #29): each change alerted within 2 days, at most 1 false
alarm in 20 windows without change.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from bench.common import peak_rss_mb, timed, write_result
from features.arrays import frame_arrays
from features.examples import grid_rows, video_rows
from features.labels import label_videos
from features.loading import load_dataset
from features.matrix import feature_matrix
from features.prediction_log import FEATURE_PREFIX
from features.rows import RAW_COLUMNS
from features.simulation.config import Platform, SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from likecast.settings import Settings
from models.bundle import ModelBundle
from training.monitor.drift import drift_report
from training.train import fit

SCENARIOS = ("none", "revision", "new_creators", "category_rise:food", "season")
TARGET_DAYS_TO_DETECT = 2.0
TARGET_FALSE_ALARMS = 1 / 20


def trained_on(platform: Platform, until: pd.Timestamp, settings: Settings) -> ModelBundle:
    """The model of the platform as it stood at ``until``: videos and counts seen by then."""
    observed = platform.snapshots["observed_at"]
    seen = pc.less(observed, pa.scalar(until.as_unit("ns").value, type=observed.type))
    before = Platform(
        videos=platform.videos[platform.videos["posted_at"] < until].reset_index(drop=True),
        snapshots=platform.snapshots.filter(seen),
        truth=platform.truth,
        offset=platform.offset,
    )
    with tempfile.TemporaryDirectory() as folder:
        write_platform(before, Path(folder))
        return fit(load_dataset(Path(folder)), settings, {"num_boost_round": 150}).bundle


def logged(platform: Platform, bundle: ModelBundle, since: pd.Timestamp) -> pd.DataFrame:
    """The answers the model gave for every video posted from ``since`` at each grid age,
    as ``read_log`` returns them (the log's files are not what is measured here)."""
    spec = bundle.spec
    with tempfile.TemporaryDirectory() as folder:
        write_platform(platform, Path(folder))
        dataset = load_dataset(Path(folder))
    labels = label_videos(dataset.videos, dataset.snapshots, spec.threshold, spec.horizon_minutes)
    per_video = video_rows(dataset.videos, labels, spec.threshold, spec.horizon_minutes, 30)
    labeled = labels["labeled"].to_numpy() & (dataset.videos["posted_at"] >= since).to_numpy()
    rows = grid_rows(per_video[labeled], dataset.snapshots, spec.ages, spec.horizon_minutes)
    arrays = frame_arrays(rows, RAW_COLUMNS)
    matrix = feature_matrix(arrays, spec)
    answers = bundle.answer_matrix(matrix, arrays)
    frame = pd.DataFrame(matrix, columns=[FEATURE_PREFIX + f for f in spec.features])
    posted = pd.to_datetime(rows["posted_at"], utc=True).reset_index(drop=True)
    frame["logged_at"] = posted + pd.to_timedelta(rows["age_minutes"].to_numpy(), unit="min")
    frame["model_version"] = "bench"
    frame["threshold"] = spec.threshold
    frame["horizon_days"] = spec.horizon_minutes / 1440
    frame["video_id"] = rows["video_id"].astype(str).to_numpy()
    frame["age_minutes"] = rows["age_minutes"].to_numpy()
    frame["probability"] = answers.probability
    frame["decided"] = answers.decided
    return frame


def windows(
    answers: pd.DataFrame,
    bundle: ModelBundle,
    start: pd.Timestamp,
    change: pd.Timestamp,
    count: int,
    days: float,
    settings: Settings,
) -> list[dict[str, object]]:
    """Each window's verdict: when it ends (days after the change), alert, what moved."""
    assert bundle.reference is not None
    verdicts = []
    for k in range(count):
        since = start + pd.Timedelta(days=k * days)
        until = since + pd.Timedelta(days=days)
        inside = answers[(answers["logged_at"] >= since) & (answers["logged_at"] < until)]
        report = drift_report(
            bundle.reference,
            inside,
            bundle.spec,
            "bench",
            since=None,
            until=None,
            min_rows=settings.drift_min_rows,
            false_alarm=settings.drift_false_alarm,
            seed=settings.seed + k,
        )
        verdicts.append(
            {
                "ends_days_after_change": round((until - change) / pd.Timedelta(days=1), 2),
                "answers": report.answers,
                "alert": report.alert,
                "max_ratio": round(report.max_ratio, 3),
                "moved": report.moved[:5],
                "gap_days": None if report.gap_days is None else round(report.gap_days, 2),
                # quantities (over all ages) whose own pace set their threshold, not chance
                "paced": sorted(
                    {c.feature for c in report.checks if c.bucket == "all" and c.pace > c.noise}
                ),
            }
        )
    return verdicts


def summary(
    verdicts: list[dict[str, object]], anchor: list[dict[str, object]]
) -> dict[str, object]:
    """A scenario's windows summed up: its alerts, and the alerts the anchor's same window
    did not raise (a feature that moved here and not there: the change's own)."""
    for verdict, same in zip(verdicts, anchor, strict=True):
        verdict["moved_beyond_anchor"] = sorted(set(verdict["moved"]) - set(same["moved"]))  # type: ignore[call-overload]
    before = [v for v in verdicts if float(v["ends_days_after_change"]) <= 0]  # type: ignore[arg-type]
    after = [v for v in verdicts if float(v["ends_days_after_change"]) > 0]  # type: ignore[arg-type]
    first = next((v for v in after if v["alert"]), None)
    own = next((v for v in after if v["moved_beyond_anchor"]), None)
    return {
        "windows_before_change": len(before),
        "alerts_before_change": sum(bool(v["alert"]) for v in before),
        "windows_after_change": len(after),
        "alert_rate_after_change": round(sum(bool(v["alert"]) for v in after) / len(after), 3),
        "days_to_first_alert": None if first is None else first["ends_days_after_change"],
        "detection_rate_beyond_anchor": round(
            sum(bool(v["moved_beyond_anchor"]) for v in after) / len(after), 3
        ),
        "days_to_detect_beyond_anchor": None if own is None else own["ends_days_after_change"],
        "features_beyond_anchor": sorted(
            {f for v in after for f in v["moved_beyond_anchor"]}  # type: ignore[attr-defined]
        ),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=12_000, help="videos in the platform")
    parser.add_argument("--days", type=float, default=75, help="days of posting")
    parser.add_argument("--train-days", type=float, default=50, help="days the model sees")
    parser.add_argument("--change-day", type=float, default=56, help="the scenarios' date")
    parser.add_argument("--window-days", type=float, default=1.0, help="each window's span")
    parser.add_argument("--after", type=int, default=6, help="windows after the change")
    parser.add_argument("--quick", action="store_true", help="6,000 videos, 2-day windows")
    args = parser.parse_args(argv)
    videos, window_days = (6_000, 2.0) if args.quick else (args.videos, args.window_days)
    base = SimConfig(videos=videos, seed=7, window_days=args.days, pilot_videos=videos)
    start = pd.Timestamp(base.start, tz=base.timezone)
    train_end = start + pd.Timedelta(days=args.train_days)
    change = start + pd.Timedelta(days=args.change_day)
    # windows of answers from training's end: those before the change, and a few after it
    count = int((change - train_end) / pd.Timedelta(days=window_days)) + args.after
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="likecast-bench-")))
    times: dict[str, float] = {}
    with timed(times, "train_s"):
        bundle = trained_on(simulate(base), train_end.tz_convert("UTC"), settings)
    results: dict[str, dict[str, object]] = {}
    check_seconds = []
    anchor: list[dict[str, object]] = []
    for name in SCENARIOS:  # "none" first: the anchor of every other
        scenario = None if name == "none" else f"{name}@{change:%Y-%m-%d}"
        platform = simulate(SimConfig(**{**base.__dict__, "scenario": scenario}))
        answers = logged(platform, bundle, train_end - pd.Timedelta(days=base.horizon_days))
        began = time.perf_counter()
        verdicts = windows(answers, bundle, train_end, change, count, window_days, settings)
        check_seconds.append((time.perf_counter() - began) / max(count, 1))
        anchor = anchor or verdicts
        results[name] = {**summary(verdicts, anchor), "windows": verdicts}
        print(name, {k: v for k, v in results[name].items() if k != "windows"}, flush=True)
    changes = [r for n, r in results.items() if n != "none"]
    control = results["none"]["windows"]
    control_alarms = sum(bool(v["alert"]) for v in control)  # type: ignore[attr-defined]
    control_windows = len(control)  # type: ignore[arg-type]
    moved_in_control = sorted({f for v in control for f in v["moved"]})  # type: ignore[attr-defined]
    write_result(
        "monitoring",
        {
            "videos": videos,
            "days": args.days,
            "train_days": args.train_days,
            "change_day": args.change_day,
            "window_days": window_days,
            "false_alarm_setting": settings.drift_false_alarm,
            **times,
            "seconds_per_check": round(float(np.mean(check_seconds)), 3),
            "peak_rss_mb": peak_rss_mb(),
            "anchor_no_scenario": {
                "false_alarms": control_alarms,
                "windows": control_windows,
                "false_alarm_rate": round(control_alarms / max(control_windows, 1), 3),
                "features_that_moved": moved_in_control,
            },
            "scenarios": results,
            "targets": {
                "days_to_detect": TARGET_DAYS_TO_DETECT,
                "false_alarm_rate": TARGET_FALSE_ALARMS,
            },
            "meets_targets": all(
                r["days_to_detect_beyond_anchor"] is not None
                and r["days_to_detect_beyond_anchor"] <= TARGET_DAYS_TO_DETECT  # type: ignore[operator]
                for r in changes
            )
            and control_alarms / max(control_windows, 1) <= TARGET_FALSE_ALARMS,
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
