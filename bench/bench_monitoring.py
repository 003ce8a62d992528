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
adds is its change; it is also the control, whose every window is a chance to alarm (20 by
default: 6 days before the change date and 14 after). Targets (issue #29): each change
alerted within 2 days, at most 1 false alarm in 20 windows without change.

Beside drift, per scenario: the label-free estimate (``monitor estimate``) against the
realized ROC AUC (``monitor outcomes``: training's label rule) per age bucket, on windows of
at least ``--estimate-answers`` model answers in every age bucket (days pooled, never across
the change date), on the same platform made with ``--estimate-videos`` videos so that such
windows span days, not weeks; and at the end, ``retrain`` (the function ``likecast retrain``
calls) on the newest ``--train-days`` of data against the champion, which is put back
before each scenario.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from mlflow.tracking import MlflowClient

from bench.common import peak_rss_mb, timed, write_result
from features.arrays import frame_arrays
from features.examples import grid_rows, video_rows
from features.labels import label_videos
from features.loading import Dataset, fingerprint, load_dataset
from features.matrix import feature_matrix
from features.prediction_log import FEATURE_PREFIX
from features.rows import RAW_COLUMNS
from features.simulation.config import Platform, SimConfig
from features.simulation.generate import simulate
from features.simulation.writing import write_platform
from features.store import data_end
from likecast.settings import Settings
from models.bundle import ModelBundle
from models.mlflow_client import connect
from training.monitor.drift import drift_report
from training.monitor.estimate import bucket_labels, concept_check, model_answers
from training.monitor.outcomes import join_outcomes, outcome_table
from training.monitor.versions import VersionFigures, from_meta
from training.retrain import retrain
from training.tracking import log_and_register
from training.train import TrainOutcome, fit

SCENARIOS = ("none", "revision", "new_creators", "category_rise:food", "season")
TARGET_DAYS_TO_DETECT = 2.0
TARGET_FALSE_ALARMS = 1 / 20
TARGET_ESTIMATE_MAE = 0.01
TARGET_COVERAGE = 0.85
CONCEPT_DRIFT = ("revision",)  # the same inputs lead elsewhere: the estimate cannot hold
EXPERIMENT = "likecast"


def as_of(platform: Platform, until: pd.Timestamp, since: pd.Timestamp | None = None) -> Platform:
    """The platform as it stood at ``until``: videos posted (from ``since``) and counts seen."""
    observed = platform.snapshots["observed_at"]
    seen = pc.less(observed, pa.scalar(until.as_unit("ns").value, type=observed.type))
    posted = platform.videos["posted_at"]
    keep = (posted < until) & (posted >= since if since is not None else True)
    videos = platform.videos[keep].reset_index(drop=True)
    if since is not None:
        kept = pa.array(videos["video_id"].to_numpy())
        seen = pc.and_(seen, pc.is_in(platform.snapshots["video_id"], value_set=kept))
    return Platform(
        videos=videos,
        snapshots=platform.snapshots.filter(seen),
        truth=platform.truth,
        offset=platform.offset,
    )


def loaded(platform: Platform) -> Dataset:
    """The platform written as training data and read back, as the commands read it."""
    with tempfile.TemporaryDirectory() as folder:
        write_platform(platform, Path(folder))
        return load_dataset(Path(folder))


def trained_on(platform: Platform, until: pd.Timestamp, settings: Settings) -> TrainOutcome:
    """The model of the platform as it stood at ``until``: videos and counts seen by then."""
    return fit(loaded(as_of(platform, until)), settings, {"num_boost_round": 150})


def logged(dataset: Dataset, bundle: ModelBundle, since: pd.Timestamp) -> pd.DataFrame:
    """The answers the model gave for every video posted from ``since`` at each grid age,
    as ``read_log`` returns them (the log's files are not what is measured here)."""
    spec = bundle.spec
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
    frame["low"] = answers.low
    frame["high"] = answers.high
    frame["decided"] = answers.decided
    return frame


def estimate_spans(
    answers: pd.DataFrame,
    grid: tuple[float, ...],
    start: pd.Timestamp,
    change: pd.Timestamp,
    end: pd.Timestamp,
    least: int,
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Windows of whole days holding at least ``least`` model answers in each age bucket,
    before the change and after it, never across it (a short remainder joins the window
    before it)."""
    model = model_answers(answers)
    logged = model["logged_at"]
    buckets = bucket_labels(model["age_minutes"].to_numpy(), grid)
    names = np.unique(buckets)
    spans: list[tuple[pd.Timestamp, pd.Timestamp]] = []
    for first, last in ((start, change), (change, end)):
        since, mine = first, []
        day = first
        while day < last:
            day = min(day + pd.Timedelta(days=1), last)
            inside = buckets[((logged >= since) & (logged < day)).to_numpy()]
            if min((inside == name).sum() for name in names) >= least:
                mine.append((since, day))
                since = day
        if since < last and mine:
            mine[-1] = (mine[-1][0], last)
        elif since < last:
            mine.append((since, last))
        spans += mine
    return spans


def estimate_windows(
    answers: pd.DataFrame,
    dataset: Dataset,
    bundle: ModelBundle,
    spans: list[tuple[pd.Timestamp, pd.Timestamp]],
    change: pd.Timestamp,
    concept: bool,
    seed: int,
) -> list[dict[str, object]]:
    """Per window and age bucket: the estimate and the realized figures of the same answers
    as ``monitor outcomes`` computes them, and the estimate's concept-drift check."""
    figures = {
        "bench": VersionFigures(
            **from_meta("bench", bundle.spec.ages, bundle.meta, "the bench's bundle")
        )
    }
    end = data_end(dataset)
    grid = bundle.spec.ages
    out = []
    for since, until in spans:
        inside = answers[(answers["logged_at"] >= since) & (answers["logged_at"] < until)]
        joined = join_outcomes(inside, dataset.videos, dataset.snapshots, end)
        table = outcome_table(joined.labeled, figures, seed)
        gaps = {
            bucket: float(figures_["calibration_gap"])
            for bucket, figures_ in figures["bench"].test.items()
            if figures_.get("calibration_gap") is not None
        }
        checked = concept_check(inside, bundle.spec.ages, gaps).set_index("age_bucket")
        labeled = model_answers(joined.labeled)
        by_bucket = labeled.groupby(bucket_labels(labeled["age_minutes"].to_numpy(), grid))
        mean_answer = {**by_bucket["probability"].mean(), "all": labeled["probability"].mean()}
        hit_rate = {**by_bucket["label"].mean(), "all": labeled["label"].mean()}
        after = since >= change
        for row in table.itertuples():
            bucket = str(row.age_bucket)
            flagged = (
                bool(checked["inconsistent"].get(bucket, False))
                if bucket != "all"
                else (bool(checked["inconsistent"].any()))
            )
            # a bucket whose labels hold one class has no realized AUC: nothing to check
            realized = float(row.roc_auc) if np.isfinite(row.roc_auc) else None
            covered = (
                None
                if realized is None
                else bool(row.estimated_auc_low <= realized <= row.estimated_auc_high)
            )
            out.append(
                {
                    "since_days_after_change": round((since - change) / pd.Timedelta(days=1), 2),
                    "until_days_after_change": round((until - change) / pd.Timedelta(days=1), 2),
                    "window_answers": int(joined.counts["labeled"]),
                    "age_bucket": bucket,
                    "answers": int(row.n),
                    "estimated_auc": round(float(row.estimated_auc), 4),
                    "estimated_low": round(float(row.estimated_auc_low), 4),
                    "estimated_high": round(float(row.estimated_auc_high), 4),
                    "realized_auc": _round(realized),
                    # calibration: a revision that changes outcomes moves the hit rate first
                    "mean_answer": _round(mean_answer.get(bucket)),
                    "realized_hit_rate": _round(hit_rate.get(bucket)),
                    "abs_error": None
                    if realized is None
                    else round(abs(float(row.estimated_auc) - realized), 4),
                    # what a perfect estimate would miss by: label noise, from its interval
                    "noise_abs_error": round(
                        float(row.estimated_auc_high - row.estimated_auc_low)
                        / (2 * 1.6449)
                        * np.sqrt(2 / np.pi),
                        4,
                    ),
                    "covered": covered,
                    "concept_drift_injected": concept and after,
                    "flagged_inconsistent": flagged,
                    "shift": None
                    if bucket not in checked.index
                    else round(float(checked.loc[bucket, "shift"]), 4),
                    "shift_se": None
                    if bucket not in checked.index
                    else round(float(checked.loc[bucket, "shift_se"]), 4),
                    "allowance": None
                    if bucket not in checked.index
                    else round(float(checked.loc[bucket, "allowance"]), 4),
                }
            )
    return out


def estimate_summary(rows: list[dict[str, object]]) -> dict[str, object]:
    """Mean absolute error per age bucket and interval coverage over the windows without
    concept drift; how often concept-drift windows, and the others, were flagged."""
    frame = pd.DataFrame(rows)
    frame["covered"] = frame["covered"].astype("float64")  # None (no realized AUC): NaN, skipped
    frame["abs_error"] = frame["abs_error"].astype("float64")
    clean = frame[~frame["concept_drift_injected"].astype(bool)]
    drifted = frame[frame["concept_drift_injected"].astype(bool)]
    per_bucket = {
        str(bucket): {
            "windows": len(group),
            "windows_realized": int(group["abs_error"].notna().sum()),
            "mean_answers": round(float(group["answers"].mean()), 1),
            "mae": _mean(group["abs_error"], 4),
            "noise_mae": round(float(group["noise_abs_error"].mean()), 4),
            "coverage": _mean(group["covered"], 3),
        }
        for bucket, group in clean.groupby("age_bucket", sort=False)
    }
    windows = frame[frame["age_bucket"] == "all"]  # one row per window
    return {
        "windows_without_concept_drift": int(
            (~windows["concept_drift_injected"].astype(bool)).sum()
        ),
        "windows_with_concept_drift": int(windows["concept_drift_injected"].astype(bool).sum()),
        "min_window_answers": int(windows["window_answers"].min()),
        "per_bucket": per_bucket,
        "mae_buckets": round(float(clean.loc[clean["age_bucket"] != "all", "abs_error"].mean()), 4),
        "coverage": round(float(clean.loc[clean["age_bucket"] != "all", "covered"].mean()), 3),
        "flagged_share_clean_windows": round(
            float(clean[clean["age_bucket"] == "all"]["flagged_inconsistent"].mean()), 3
        ),
        "flagged_share_concept_drift_windows": None
        if drifted.empty
        else round(
            float(drifted[drifted["age_bucket"] == "all"]["flagged_inconsistent"].mean()), 3
        ),
    }


@dataclass(frozen=True)
class Champion:
    """The bench's champion: its registered version, put back at @champion before each
    scenario's retrain, so every scenario retrains from the same model."""

    version: str
    client: MlflowClient


def register_champion(outcome: TrainOutcome, settings: Settings) -> Champion:
    """The model trained before the change, registered and holding the serving alias."""
    client = connect(settings)
    prints = {"videos": 0, "snapshots": 0, "source": "bench"}
    version = log_and_register(outcome, prints, settings, EXPERIMENT, report=False).version
    client.set_registered_model_alias(settings.model_name, settings.alias, version)
    return Champion(version, client)


def retrained(
    champion: Champion, platform: Platform, until: pd.Timestamp, days: float, settings: Settings
) -> dict[str, object]:
    """``likecast retrain`` on the newest ``days`` of data as it stood at ``until``: the
    candidate's and the champion's figures on the candidate's test slice (the newest
    rows), and whether it was promoted, and why."""
    client = champion.client
    client.set_registered_model_alias(settings.model_name, settings.alias, champion.version)
    since = until - pd.Timedelta(days=days)
    with tempfile.TemporaryDirectory() as folder:
        write_platform(as_of(platform, until, since), Path(folder))
        dataset = load_dataset(Path(folder))
        prints = fingerprint(Path(folder), dataset)
        began = time.perf_counter()
        done = retrain(client, settings, dataset, prints, EXPERIMENT)
    decision = done.decision
    candidate, held = decision.candidate_metrics or {}, decision.champion_metrics or {}
    return {
        "data_days": days,
        "seconds": round(time.perf_counter() - began, 1),
        "champion_auc": _round(held.get("roc_auc")),
        "candidate_auc": _round(candidate.get("roc_auc")),
        "champion_log_loss": _round(held.get("log_loss")),
        "candidate_log_loss": _round(candidate.get("log_loss")),
        "promoted": decision.moved,
        "reason": decision.reason,
    }


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 4)


def _mean(values: pd.Series, digits: int) -> float | None:
    """The mean of the figures there are; None (JSON's null) when there are none."""
    mean = float(values.mean())
    return round(mean, digits) if np.isfinite(mean) else None


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


def arguments(argv: list[str] | None) -> argparse.Namespace:
    """The bench's options."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--videos", type=int, default=12_000, help="videos in the platform")
    parser.add_argument("--days", type=float, default=78, help="days of posting")
    parser.add_argument("--train-days", type=float, default=50, help="days the model sees")
    parser.add_argument("--change-day", type=float, default=56, help="the scenarios' date")
    parser.add_argument("--window-days", type=float, default=1.0, help="each window's span")
    parser.add_argument("--after", type=int, default=14, help="windows after the change")
    parser.add_argument(
        "--estimate-answers",
        type=int,
        default=5_000,
        help="least model answers in each age bucket of an estimate window",
    )
    parser.add_argument(
        "--estimate-videos",
        type=int,
        default=80_000,
        help="videos of the platform the estimate is checked on (the same platform, larger)",
    )
    parser.add_argument("--no-retrain", action="store_true", help="skip the retrain part")
    parser.add_argument("--quick", action="store_true", help="6,000 videos, 2-day windows")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = arguments(argv)
    videos, window_days = (6_000, 2.0) if args.quick else (args.videos, args.window_days)
    after = 6 if args.quick else args.after
    estimate_videos, least = (
        (24_000, 1_500) if args.quick else (args.estimate_videos, args.estimate_answers)
    )
    base = SimConfig(videos=videos, seed=7, window_days=args.days, pilot_videos=videos)
    start = pd.Timestamp(base.start, tz=base.timezone)
    train_end = start + pd.Timedelta(days=args.train_days)
    change = start + pd.Timedelta(days=args.change_day)
    # windows of answers from training's end: those before the change, and a few after it
    count = int((change - train_end) / pd.Timedelta(days=window_days)) + after
    end = train_end + pd.Timedelta(days=count * window_days)
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="likecast-bench-")))
    times: dict[str, float] = {}
    began = time.perf_counter()
    with timed(times, "train_s"):
        outcome = trained_on(simulate(base), train_end.tz_convert("UTC"), settings)
    bundle = outcome.bundle
    champion = None if args.no_retrain else register_champion(outcome, settings)
    results: dict[str, dict[str, object]] = {}
    check_seconds, estimate_rows = [], []
    anchor: list[dict[str, object]] = []
    for name in SCENARIOS:  # "none" first: the anchor of every other
        scenario = None if name == "none" else f"{name}@{change:%Y-%m-%d}"
        platform = simulate(SimConfig(**{**base.__dict__, "scenario": scenario}))
        dataset = loaded(platform)
        answers = logged(dataset, bundle, train_end - pd.Timedelta(days=base.horizon_days))
        clock = time.perf_counter()
        verdicts = windows(answers, bundle, train_end, change, count, window_days, settings)
        check_seconds.append((time.perf_counter() - clock) / max(count, 1))
        anchor = anchor or verdicts
        results[name] = {**summary(verdicts, anchor), "windows": verdicts}
        # the estimate per age bucket needs thousands of answers a bucket: the same platform
        # made larger (answers are cheap), so its windows stay days, not weeks
        with timed(times, f"estimate_{name}_s"):
            larger = SimConfig(**{**base.__dict__, "videos": estimate_videos, "scenario": scenario})
            many = loaded(simulate(larger))
            asked = logged(many, bundle, train_end - pd.Timedelta(days=base.horizon_days))
            spans = estimate_spans(asked, bundle.spec.ages, train_end, change, end, least)
            rows = estimate_windows(
                asked, many, bundle, spans, change, name in CONCEPT_DRIFT, settings.seed
            )
            del many, asked
        estimate_rows += [{"scenario": name, **row} for row in rows]
        results[name]["estimate"] = {**estimate_summary(rows), "windows": rows}
        if champion is not None:
            with timed(times, f"retrain_{name}_s"):
                results[name]["retrain"] = retrained(
                    champion, platform, end.tz_convert("UTC"), args.train_days, settings
                )
        print(
            name,
            {k: v for k, v in results[name].items() if k not in ("windows", "estimate")},
            {k: v for k, v in results[name]["estimate"].items() if k != "windows"},  # type: ignore[union-attr]
            flush=True,
        )
    changes = [r for n, r in results.items() if n != "none"]
    control = results["none"]["windows"]
    control_alarms = sum(bool(v["alert"]) for v in control)  # type: ignore[attr-defined]
    control_windows = len(control)  # type: ignore[arg-type]
    moved_in_control = sorted({f for v in control for f in v["moved"]})  # type: ignore[attr-defined]
    estimate = estimate_summary(estimate_rows)
    # the rows behind the summary, kept apart: thousands of lines no reader scrolls through
    write_result(
        "monitoring_windows",
        {
            "drift": {name: result.pop("windows") for name, result in results.items()},
            "estimate": {
                name: result["estimate"].pop("windows")  # type: ignore[attr-defined]
                for name, result in results.items()
            },
        },
        quick=args.quick,
        echo=False,
    )
    write_result(
        "monitoring",
        {
            "videos": videos,
            "days": args.days,
            "train_days": args.train_days,
            "change_day": args.change_day,
            "window_days": window_days,
            "estimate_videos": estimate_videos,
            "estimate_least_answers_per_bucket": least,
            "false_alarm_setting": settings.drift_false_alarm,
            **times,
            "seconds_per_check": round(float(np.mean(check_seconds)), 3),
            "total_s": round(time.perf_counter() - began, 1),
            "peak_rss_mb": peak_rss_mb(),
            "anchor_no_scenario": {
                "false_alarms": control_alarms,
                "windows": control_windows,
                "false_alarm_rate": round(control_alarms / max(control_windows, 1), 3),
                "features_that_moved": moved_in_control,
            },
            "estimate": estimate,
            "retrain": {
                name: result["retrain"] for name, result in results.items() if "retrain" in result
            },
            "scenarios": results,
            "targets": {
                "days_to_detect": TARGET_DAYS_TO_DETECT,
                "false_alarm_rate": TARGET_FALSE_ALARMS,
                "estimate_mae": TARGET_ESTIMATE_MAE,
                "estimate_coverage": TARGET_COVERAGE,
            },
            "meets_targets": all(
                r["days_to_detect_beyond_anchor"] is not None
                and r["days_to_detect_beyond_anchor"] <= TARGET_DAYS_TO_DETECT  # type: ignore[operator]
                for r in changes
            )
            and control_alarms / max(control_windows, 1) <= TARGET_FALSE_ALARMS,
            "meets_estimate_targets": all(
                b["mae"] is not None and float(b["mae"]) <= TARGET_ESTIMATE_MAE  # type: ignore[index]
                for k, b in estimate["per_bucket"].items()  # type: ignore[attr-defined]
                if k != "all"
            )
            and float(estimate["coverage"]) >= TARGET_COVERAGE  # type: ignore[arg-type]
            and estimate["flagged_share_concept_drift_windows"] == 1.0,
        },
        quick=args.quick,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
