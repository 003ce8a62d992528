"""Drift per feature over time: the drift check of ``likecast monitor drift`` run on each
window of the log in turn, for the monitoring report.

A window is a calendar day (UTC) of the answers' moments, joined with the days after it
until it holds ``min_rows`` answers the check would judge (its own count, ``read_window``);
a last window too small joins the one before. An answer's moment is the time it speaks of:
its video's posting time plus its age where the log has the posting time (a backtest with
``likecast score`` logs every row at the moment it ran), else when it was logged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.spec import FeatureSpec
from models.reference import ANSWER, Reference
from training.monitor.drift import ALL, drift_report, read_window

TOP_BY_RATIO = 4  # features with the largest ratio to their threshold in any window
TOP_BY_ATTRIBUTION = 3  # and those the model leans on most, whether they moved or not
QUANTILES = (0.1, 0.5, 0.9)


def answer_moment(answers: pd.DataFrame) -> pd.Series:
    """The moment each answer speaks of: posting time plus age, else when it was logged."""
    logged = pd.to_datetime(answers["logged_at"], utc=True)
    if "posted_at" not in answers:
        return logged
    posted = pd.to_datetime(answers["posted_at"], utc=True)
    spoken = posted + pd.to_timedelta(answers["age_minutes"].to_numpy(dtype=float), unit="min")
    return spoken.where(posted.notna(), logged)


def windows(
    answers: pd.DataFrame, spec: FeatureSpec, version: str, reference: Reference, min_rows: int
) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """Consecutive day ranges [start, end) each holding at least ``min_rows`` judged answers;
    none when the whole log holds fewer."""
    days = answer_moment(answers).dt.floor("D")
    counted = [
        (day, len(read_window(answers[days == day], spec, version, reference).buckets))
        for day in sorted(days.unique())
    ]
    spans: list[tuple[pd.Timestamp, pd.Timestamp, int]] = []
    start, held = None, 0
    for day, count in counted:
        start = day if start is None else start
        held += count
        if held >= min_rows:
            spans.append((start, day + pd.Timedelta(days=1), held))
            start, held = None, 0
    if start is not None and held and spans:
        first, _, before = spans.pop()
        spans.append((first, counted[-1][0] + pd.Timedelta(days=1), before + held))
    return [(first, end) for first, end, _ in spans]


def drift_by_window(
    answers: pd.DataFrame,
    spec: FeatureSpec,
    version: str,
    reference: Reference,
    *,
    min_rows: int,
    false_alarm: float,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per window: every quantity's distance over all ages against its threshold (one row
    each), and the window's summary: answers, alert, the features that moved, and the
    answers' mean and quantiles."""
    moments = answer_moment(answers)
    checks, summaries = [], []
    for start, end in windows(answers, spec, version, reference, min_rows):
        inside = answers[((moments >= start) & (moments < end)).to_numpy()]
        report = drift_report(
            reference,
            inside,
            spec,
            version,
            since=start.isoformat(),
            until=end.isoformat(),
            min_rows=min_rows,
            false_alarm=false_alarm,
            seed=seed,
        )
        for check in report.checks:
            if check.bucket == ALL:
                checks.append(
                    {
                        "model_version": version,
                        "start": start,
                        "end": end,
                        "feature": check.feature,
                        "distance": check.distance,
                        "threshold": check.threshold,
                        "ratio": check.ratio,
                        "moved": check.moved,
                        "attribution_rank": check.attribution_rank,
                    }
                )
        given = read_window(inside, spec, version, reference).values.get(ANSWER)
        shown = given[np.isfinite(given)] if given is not None else np.zeros(0)
        summaries.append(
            {
                "model_version": version,
                "start": start,
                "end": end,
                "answers": report.answers,
                "alert": report.alert,
                "moved": ", ".join(report.moved),
                "answer_mean": float(shown.mean()) if len(shown) else np.nan,
                **{
                    f"answer_p{round(q * 100)}": float(np.quantile(shown, q))
                    if len(shown)
                    else np.nan
                    for q in QUANTILES
                },
            }
        )
    return pd.DataFrame(checks), pd.DataFrame(summaries)


def top_features(checks: pd.DataFrame) -> list[str]:
    """The features worth a line: the largest ratios to their thresholds in any window, then
    the ones the model leans on most (the answer's own distribution is not a feature)."""
    features = checks[checks["feature"] != ANSWER]
    by_ratio = features.groupby("feature")["ratio"].max().sort_values(ascending=False)
    ranks = features.groupby("feature")["attribution_rank"].min().sort_values()
    chosen = list(by_ratio.index[:TOP_BY_RATIO])
    chosen += [name for name in ranks.index[:TOP_BY_ATTRIBUTION] if name not in chosen]
    return [str(name) for name in chosen]
