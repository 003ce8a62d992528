"""Quality before the labels: what the logged answers say their ROC AUC and calibration will be.

The bundle's answers are calibrated (the blend is fitted for it), so if each answer ``p`` is
the chance its video reaches the threshold, the labels still to come are Bernoulli(p) draws
and the metrics they will give have a distribution computable now (NannyML's CBPE idea). The
expected ROC AUC has a closed form (the expected concordant pairs over the expected pairs);
its interval comes from simulated label draws, where the answers of one video share one
uniform draw (a video has one outcome, however often it was asked about). Concept drift, the
same inputs now leading elsewhere, breaks the calibration it assumes; it is flagged where
later answers part from the same videos' earlier ones (``concept_check``, docs/adr/0049).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

import numpy as np
import pandas as pd
from scipy import stats

from features.monitoring_last import CheckFigures
from features.spec import age_bucket
from training.metrics import GAP_MIN_ROWS, GAP_WARN, bin_index

# fewer answers than this, or fewer expected hits or misses, and the estimate is noise
MIN_ANSWERS = 200
MIN_EXPECTED_CLASS = 10
DRAWS = 200  # simulated label draws per figure: the 5% and 95% quantiles settle by then
LEVEL = 0.90  # the interval's coverage
FLAG_LEVEL = 0.05  # chance that a window without concept drift is flagged, over its buckets
MIN_PAIRED_VIDEOS = 100  # fewer videos asked at two ages and the comparison is not made
NO_LABELS = (
    "concept drift (the same inputs now leading to other outcomes) is seen without labels "
    "only where it parts later answers from the same videos' earlier ones: run `likecast "
    "monitor outcomes` once the horizons have passed"
)


class Ranking:
    """Scores sorted once, so that the ROC AUC of many weightings of their rows (simulated
    labels, bootstrap resamples) costs one pass each, not one sort each."""

    def __init__(self, scores: np.ndarray) -> None:
        scores = np.asarray(scores, dtype="float64")
        self.order = np.argsort(scores, kind="stable")
        ranked = scores[self.order]
        starts = np.r_[True, ranked[1:] != ranked[:-1]][: len(ranked)]
        self.group: np.ndarray = np.cumsum(starts) - 1

    def auc(self, hit: np.ndarray, miss: np.ndarray) -> float:
        """Weighted concordant pairs over weighted pairs: each row counts ``hit`` times as a
        hit and ``miss`` times as a miss (0/1 for labels, multiplicities for a resample,
        p and 1 - p for an expectation); a row is never paired with itself, ties count half.
        NaN when there is no pair."""
        if len(self.order) < 2:
            return float("nan")
        h, m = hit[self.order], miss[self.order]
        m_in_group = np.bincount(self.group, weights=m)
        m_below_group = np.r_[0.0, np.cumsum(m_in_group)[:-1]]
        concordant = h * (m_below_group[self.group] + 0.5 * (m_in_group[self.group] - m))
        pairs = h.sum() * m.sum() - float(np.dot(h, m))
        return float(concordant.sum() / pairs) if pairs > 0 else float("nan")


def expected_auc(p: np.ndarray) -> float:
    """E[concordant pairs] / E[pairs] when each row is a hit with probability ``p``, ranked
    by ``p`` itself (ties count half, as in ROC AUC); NaN with fewer than two rows."""
    p = np.asarray(p, dtype="float64")
    return Ranking(p).auc(p, 1.0 - p)


def shared_draws(video_id: pd.Series | np.ndarray) -> np.ndarray:
    """A code per row: rows of one video share one, rows without a video each have their own."""
    ids = pd.Series(np.asarray(video_id, dtype=object))
    codes, uniques = pd.factorize(ids)
    missing = codes < 0
    codes[missing] = len(uniques) + np.arange(int(missing.sum()))
    return codes


@dataclass(frozen=True)
class Simulated:
    """What simulated labels gave: each draw's ROC AUC and calibration gap."""

    auc: np.ndarray
    gap: np.ndarray


def simulate(p: np.ndarray, codes: np.ndarray, seed: int, draws: int = DRAWS) -> Simulated:
    """ROC AUC and calibration gap of ``draws`` label sets drawn from the answers themselves.

    One uniform per code (video): a row is a hit when it is below the row's ``p``, so each
    row is Bernoulli(p) and the answers of one video agree with one another; one sort
    serves every draw (``Ranking``).
    """
    p = np.asarray(p, dtype="float64")
    rng = np.random.default_rng(seed)
    ranking = Ranking(p)
    which, size = bin_index(p)
    counts = np.bincount(which, minlength=size)
    predicted = np.bincount(which, weights=p, minlength=size)
    full = counts >= GAP_MIN_ROWS  # the bins ``calibration_gap`` reads
    aucs, gaps = np.full(draws, np.nan), np.full(draws, np.nan)
    for k in range(draws):
        y = (rng.random(int(codes.max()) + 1 if len(codes) else 0)[codes] < p) * 1.0
        aucs[k] = ranking.auc(y, 1.0 - y)
        if full.any():
            observed = np.bincount(which, weights=y, minlength=size)
            gaps[k] = np.max(np.abs(observed[full] - predicted[full]) / counts[full])
    return Simulated(aucs, gaps)


def expected_log_loss(p: np.ndarray) -> float:
    """The log loss calibrated answers are expected to show: their mean entropy."""
    p = np.clip(np.asarray(p, dtype="float64"), 1e-6, 1 - 1e-6)
    return float(-np.mean(p * np.log(p) + (1 - p) * np.log1p(-p)))


def trust(p: np.ndarray) -> str | None:
    """Why an estimate from these answers cannot be trusted; None when it can, as far as
    the answers alone tell."""
    if len(p) < MIN_ANSWERS:
        return f"{len(p):,} answers (< {MIN_ANSWERS})"
    hits, misses = float(np.sum(p)), float(np.sum(1 - p))
    if min(hits, misses) < MIN_EXPECTED_CLASS:
        fewer = "hits" if hits < misses else "misses"
        return f"{min(hits, misses):.0f} expected {fewer} (< {MIN_EXPECTED_CLASS})"
    return None


def estimate_group(p: np.ndarray, video_id: np.ndarray, seed: int) -> dict[str, float | str | None]:
    """The label-free figures of one set of answers (one version, target and age bucket)."""
    p = np.asarray(p, dtype="float64")
    out: dict[str, float | str | None] = {
        "n": float(len(p)),
        "expected_positive_rate": float(p.mean()) if len(p) else float("nan"),
        "expected_auc": expected_auc(p),
        "expected_log_loss": expected_log_loss(p) if len(p) else float("nan"),
        "auc_low": float("nan"),
        "auc_high": float("nan"),
        "gap_noise": float("nan"),
        "untrusted": trust(p),
    }
    if len(p) >= 2:
        sim = simulate(p, shared_draws(video_id), seed)
        tail = (1 - LEVEL) / 2
        if np.isfinite(sim.auc).any():
            low, high = np.nanquantile(sim.auc, [tail, 1 - tail])
            out["auc_low"], out["auc_high"] = float(low), float(high)
        if np.isfinite(sim.gap).any():
            out["gap_noise"] = float(np.nanquantile(sim.gap, 1 - tail))
    return out


GROUP = ["model_version", "threshold", "horizon_days"]


def concept_check(
    answers: pd.DataFrame, grid: tuple[float, ...], known_gap: dict[str, float] | None = None
) -> pd.DataFrame:
    """Do the answers agree with themselves across ages, as calibrated answers must?

    An answer at age a is the chance of the outcome given what was known at a; a later
    answer knows more, so on average over videos it must equal the earlier one (the tower
    rule: E[p_b | known at a] = p_a), whatever the model or the traffic. When the platform
    changes what its inputs lead to (concept drift), the counts seen later follow the new
    rules and the later answers part from the earlier ones in one direction. Per age bucket
    b: each video's answer at b less its earliest answer in the window, their mean
    (``shift``), its standard error over videos, and ``inconsistent`` when the mean is
    beyond chance at ``FLAG_LEVEL`` over all the buckets compared (Bonferroni) and beyond
    what the model's known miscalibration explains (``allowance``): ``known_gap`` maps a
    bucket to its test calibration gap, the largest bin's |hit rate - mean answer|, which
    bounds the bucket's mean bias, so a pair's shift from miscalibration alone is at most
    the sum of its two buckets' gaps. A bucket without a known gap allows none.

    ``answers`` are one version's and one target's, decided answers included (a video
    decided by its counts answers 1 or 0: leaving them out would bias the later means). A
    window without a single decided answer is one whose caller never asks about settled
    videos: its later answers are selected by their own outcome, so nothing is compared.
    """
    settled = "decided" in answers and bool(answers["decided"].astype(bool).any())
    named = answers[answers["video_id"].notna()]
    buckets = bucket_labels(named["age_minutes"].to_numpy(), grid)
    frame = pd.DataFrame(
        {
            "video": named["video_id"].astype(str).to_numpy(),
            "age": named["age_minutes"].to_numpy(dtype="float64"),
            "bucket": buckets,
            "p": named["probability"].to_numpy(dtype="float64"),
        }
    ).sort_values(["video", "age"], kind="stable")
    first = frame.groupby("video", sort=False).head(1).set_index("video")
    later = frame[frame["age"] > first.loc[frame["video"], "age"].to_numpy()]
    # one answer per video and bucket (its first there): videos weigh alike
    later = later.groupby(["video", "bucket"], sort=False).head(1)
    before = first.loc[later["video"]]
    gap = known_gap or {}
    table = pd.DataFrame(
        {
            "bucket": later["bucket"].to_numpy(),
            "diff": later["p"].to_numpy() - before["p"].to_numpy(),
            "allowance": [
                gap.get(str(b), 0.0) + gap.get(str(a), 0.0)
                for b, a in zip(later["bucket"], before["bucket"], strict=True)
            ],
        }
    )
    rows = []
    for bucket, group in table.groupby("bucket", sort=False):
        n = len(group)
        rows.append(
            {
                "age_bucket": str(bucket),
                "paired_videos": n,
                "shift": float(group["diff"].mean()),
                "shift_se": float(group["diff"].std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan,
                "allowance": float(group["allowance"].mean()),
            }
        )
    columns = ["age_bucket", "paired_videos", "shift", "shift_se", "allowance"]
    out = pd.DataFrame(rows, columns=columns)
    compared = (out["paired_videos"] >= MIN_PAIRED_VIDEOS) & settled
    z = stats.norm.isf(FLAG_LEVEL / 2 / max(int(compared.sum()), 1))
    beyond = out["shift"].abs() - out["allowance"] > z * out["shift_se"]
    out["inconsistent"] = compared & beyond
    return out


def with_concept_check(
    table: pd.DataFrame,
    window: pd.DataFrame,
    grids: dict[str, tuple[float, ...]],
    tests: dict[str, dict[str, dict[str, float | None]]],
) -> pd.DataFrame:
    """The estimate table with each bucket's ``concept_check`` (``shift``, ``shift_se``,
    ``inconsistent``; "all" is inconsistent when a bucket is), an inconsistent bucket's
    estimate marked untrusted: its answers no longer agree with themselves, so the
    calibration the estimate rests on is gone. ``window`` holds every answer, decided ones
    included; ``tests`` each version's test figures per bucket (their calibration gaps)."""
    parts = []
    for key, group in window.groupby(GROUP, sort=True):
        version, threshold, horizon = cast(tuple[str, int, float], key)
        gaps = {
            bucket: number(figures.get("calibration_gap"))
            for bucket, figures in tests.get(str(version), {}).items()
        }
        known = {bucket: gap for bucket, gap in gaps.items() if np.isfinite(gap)}
        checked = concept_check(group, grids[str(version)], known)
        whole = {"age_bucket": "all", "inconsistent": bool(checked["inconsistent"].any())}
        checked = pd.concat([checked, pd.DataFrame([whole])], ignore_index=True)
        parts.append(
            checked.assign(
                model_version=str(version), threshold=int(threshold), horizon_days=float(horizon)
            )
        )
    keys = [*GROUP, "age_bucket"]
    columns = [*keys, "shift", "shift_se", "allowance", "inconsistent"]
    checks = (
        pd.concat(parts, ignore_index=True)[columns] if parts else pd.DataFrame(columns=columns)
    )
    out = table.merge(checks, on=keys, how="left")
    out["inconsistent"] = out["inconsistent"].astype("boolean").fillna(False).astype(bool)
    reasons = [
        row.untrusted
        if isinstance(row.untrusted, str) or not row.inconsistent
        else "answers no longer agree with their own earlier ones"
        + (
            ""
            if row.age_bucket == "all"
            else f" (by {row.shift:+.3f}; noise {row.shift_se:.3f}, allowed {row.allowance:.3f})"
        )
        + ": concept drift?"
        for row in out.itertuples()
    ]
    out["untrusted"] = pd.Series(reasons, index=out.index, dtype=object)
    return out


def model_answers(answers: pd.DataFrame) -> pd.DataFrame:
    """The answers the model gave: those the counts had not already decided (probability
    0 or 1 from the counts says nothing about the model)."""
    return answers[~answers["decided"].astype(bool)]


def estimate_by_bucket(
    answers: pd.DataFrame, grids: dict[str, tuple[float, ...]], seed: int
) -> pd.DataFrame:
    """One row per (version, target, age bucket) and per (version, target) "all".

    ``answers`` are the model's (``model_answers``); ``grids`` maps each version to its age
    grid. Answers of different versions or targets are never pooled.
    """
    rows = []
    for key, group in answers.groupby(GROUP, sort=True):
        version, threshold, horizon = cast(tuple[str, int, float], key)
        buckets = bucket_labels(group["age_minutes"].to_numpy(), grids[str(version)])
        for bucket in ["all", *sorted(set(buckets), key=float)]:
            inside = group if bucket == "all" else group[buckets == bucket]
            figures = estimate_group(
                inside["probability"].to_numpy(), inside["video_id"].to_numpy(), seed
            )
            rows.append(
                {
                    "model_version": str(version),
                    "threshold": int(threshold),
                    "horizon_days": float(horizon),
                    "age_bucket": bucket,
                    **figures,
                }
            )
    table = pd.DataFrame(rows)
    if len(table):  # None, not NaN, where trusted: the reason is text or nothing
        table["untrusted"] = (
            table["untrusted"].astype(object).where(table["untrusted"].notna(), None)
        )
    return table


def bucket_labels(ages: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """Each answer's age bucket as the bundle's metrics name it ("0", "60", ...)."""
    return np.array([f"{a:g}" for a in age_bucket(np.asarray(ages, dtype="float64"), grid)])


def judged(
    table: pd.DataFrame, tests: dict[str, dict[str, dict[str, float | None]]]
) -> pd.DataFrame:
    """The estimate table with each row's test ROC AUC and its alert: a trusted estimate at
    an age bucket whose whole interval lies below the test slice's AUC, or answers that no
    longer agree with themselves (``with_concept_check``), where the table says so."""
    keys = list(zip(table["model_version"], table["age_bucket"], strict=True))
    test_auc = [number(tests.get(str(v), {}).get(str(b), {}).get("roc_auc")) for v, b in keys]
    gaps = [number(tests.get(str(v), {}).get(str(b), {}).get("calibration_gap")) for v, b in keys]
    out = table.assign(test_roc_auc=test_auc)
    # the estimate assumes calibrated answers: where the version's own test slice showed them
    # off by more than training warns of, its figures say little (on real data such an age
    # alerted while its realized AUC beat the test slice's)
    off = pd.Series(gaps, index=out.index, dtype="float64") > GAP_WARN
    out["untrusted"] = out["untrusted"].where(
        ~off | out["untrusted"].notna(),
        [
            f"answers off by {g:.2f} on the test slice (> {GAP_WARN:g}): not calibrated"
            for g in gaps
        ],
    )
    below = out["untrusted"].isna() & (out["auc_high"] < out["test_roc_auc"])
    inconsistent = out.get("inconsistent", False)
    out["alert"] = (out["age_bucket"] != "all") & (below | inconsistent)
    return out


def summary(table: pd.DataFrame, answers: pd.DataFrame, at: datetime) -> CheckFigures:
    """What ``home/monitoring/last.json`` holds under "estimate": the newest version's
    figures per age bucket (the one serving now, as far as the window shows), each named
    with its bucket ("roc_auc@60"); an untrusted bucket's estimate is flagged, not hidden."""
    version = max(table["model_version"], key=_version_order)
    mine = table[table["model_version"] == version]
    logged = answers.loc[answers["model_version"] == version, "logged_at"]
    figures: dict[str, float | None] = {}
    for r in mine.itertuples():
        figures[f"roc_auc@{r.age_bucket}"] = _plain(r.expected_auc)
        figures[f"roc_auc_low@{r.age_bucket}"] = _plain(r.auc_low)
        figures[f"roc_auc_high@{r.age_bucket}"] = _plain(r.auc_high)
        figures[f"trusted@{r.age_bucket}"] = float(not isinstance(r.untrusted, str))
    return CheckFigures(
        checked_at=at,
        model_version=version,
        window_start=logged.min() if len(logged) else None,
        window_end=logged.max() if len(logged) else None,
        answers=len(logged),
        alert=bool(table["alert"].any()),
        figures=figures,
    )


def _version_order(version: str) -> tuple[int, str]:
    return (int(version), "") if version.isdigit() else (-1, version)


def number(value: float | None) -> float:
    return float("nan") if value is None else float(value)


def _plain(value: float) -> float | None:
    """A figure for JSON, which has no NaN."""
    return float(value) if np.isfinite(value) else None
