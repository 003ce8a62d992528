"""Drift: a window of logged answers against the reference its model froze at training.

Each quantity (a feature, the answer) is compared per age bucket, and over all buckets with
the reference mixed to the window's ages, by the Jensen-Shannon divergence of their bins
(docs/adr/0048). Its threshold is not a fixed number: the divergence two samples of the
window's and the reference's sizes drawn from the reference's own bins reach by chance,
bootstrapped, then set so that all the window's comparisons together alert on a window
without drift with the chance ``drift_false_alarm`` (Bonferroni over the comparisons); then
widened by the drift the quantity showed within the reference's own time span, carried to
the window's distance in time (its pace), the two added as distances (the divergence's root
is a metric): a slow, steady movement the platform always had (creators' histories grow) is
not a change of the platform.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict
from scipy import stats

from features.prediction_log import FEATURE_PREFIX
from features.spec import FeatureSpec, age_bucket
from likecast.errors import UserError
from models.reference import ANSWER, CATEGORY, Reference
from training.monitor.reference import bin_index

REPLICATES = 400  # bootstrap draws per comparison: enough to fit the null's two moments
PRIOR = 0.5  # pseudo-count per bin of the null's generator: a bin the reference never
# filled may still be filled by chance, so a window is not condemned for one rare value
ALL = "all"
# a calendar feature a window sees only part of: a two-day window holds two weekdays, which
# is no drift; it is compared only on a window of at least a week
CALENDAR = {"post_weekday": 7.0}


class Check(BaseModel):
    """One comparison: a quantity in one age bucket (or all), its distance and threshold."""

    model_config = ConfigDict(frozen=True)

    feature: str
    bucket: str
    rows: int
    distance: float
    noise: float  # the bootstrap's threshold: what chance reaches at the window's size
    pace: float  # what the quantity's own pace in the reference reaches at the window's gap
    threshold: float  # (sqrt(noise) + sqrt(pace))^2: the two distances end to end
    ratio: float
    moved: bool
    attribution_rank: int | None  # 1: the feature the model leans on most; None: the answer


class Share(BaseModel):
    """A bin's (or category's) share of the reference and of the window."""

    name: str
    reference: float
    window: float


class DriftReport(BaseModel):
    """What ``likecast monitor drift`` found, as printed, written and logged."""

    model_version: str
    threshold: int
    horizon_days: float
    since: str | None
    until: str | None
    answers: int
    left_out: dict[str, int]
    not_compared: list[str]  # calendar features a window too short sees only part of
    false_alarm: float
    gap_days: float | None  # from the reference's middle to the window's, by posting time
    pace_note: str | None  # why the thresholds have no pace part, when they have none
    comparisons: int
    checks: list[Check]
    moved: list[str]
    moved_most_attributed: str | None
    category_mix: list[Share]
    answer_distribution: list[Share]
    alert: bool
    max_ratio: float
    max_distance: float


@dataclass(frozen=True)
class Window:
    """The logged answers of one model version and target, open ones only, with buckets."""

    values: dict[str, np.ndarray]  # quantity -> values (NaN: unknown)
    buckets: np.ndarray
    days: float  # from the first answer to the last
    videos: np.ndarray  # each answer's video, or a name of its own where none was given
    left_out: dict[str, int]
    middle: pd.Timestamp | None  # the median posting time (logged_at - age) of its answers


def js_divergence(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    """Jensen-Shannon divergence (base 2, in [0, 1]) between rows of counts or shares."""
    p = p / np.maximum(p.sum(axis=-1, keepdims=True), 1e-300)
    q = q / np.maximum(q.sum(axis=-1, keepdims=True), 1e-300)
    m = (p + q) / 2

    def kl(a: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            terms = np.where(a > 0, a * np.log2(a / np.where(m > 0, m, 1)), 0.0)
        return terms.sum(axis=-1)

    return np.clip((kl(p) + kl(q)) / 2, 0.0, 1.0)


def null_threshold(
    shares: np.ndarray, rows: int, reference_rows: float, level: float, rng: np.random.Generator
) -> float:
    """The divergence a window of ``rows`` and a reference of ``reference_rows``, both drawn
    from ``shares``, exceed with chance ``level``.

    Bootstrapped, then extrapolated to small levels by a scaled chi-squared with the
    replicates' mean and variance (the divergence times the samples' size is asymptotically
    chi-squared), since a level of 0.05 / 300 would take a million replicates to read off.
    """
    window = rng.multinomial(rows, shares, size=REPLICATES)
    reference = rng.multinomial(max(round(reference_rows), 1), shares, size=REPLICATES)
    draws = js_divergence(window.astype(float), reference.astype(float))
    mean, variance = float(draws.mean()), float(draws.var())
    if mean <= 0 or variance <= 0:
        return float(np.quantile(draws, 1 - level)) if draws.size else 0.0
    scale, freedom = variance / (2 * mean), 2 * mean**2 / variance
    return float(scale * stats.chi2.isf(level, freedom))


def read_window(
    answers: pd.DataFrame, spec: FeatureSpec, version: str, reference: Reference
) -> Window:
    """The answers ``version`` gave for the bundle's target, the ones the model gave itself.

    Answers the counts decided (probability 0 or 1 by rule) and other versions' or targets'
    answers are left out and counted; so are answers at an age the reference holds no rows of.
    """
    total = len(answers)
    if total:
        ours = (
            (answers["model_version"].astype(str) == version)
            & (answers["threshold"] == spec.threshold)
            & np.isclose(answers["horizon_days"].astype(float), spec.horizon_minutes / 1440)
        ).to_numpy()
    else:
        ours = np.zeros(0, dtype=bool)
    decided = answers["decided"].to_numpy(dtype=bool) if total else np.zeros(0, dtype=bool)
    kept = answers[ours & ~decided]
    buckets = age_bucket(kept["age_minutes"].to_numpy(dtype=float), spec.ages).astype(float)
    known = np.array([reference.by_age[f"{b:g}"].rows > 0 for b in buckets], dtype=bool)
    kept, buckets = kept[known], buckets[known]
    values = {}
    for name in reference.bins:
        column = ANSWER if name == ANSWER else FEATURE_PREFIX + name
        values[name] = (
            kept["probability" if name == ANSWER else column].to_numpy(dtype=float)
            if name == ANSWER or column in kept
            else np.full(len(kept), np.nan)
        )
    named = kept["video_id"].notna().to_numpy() if "video_id" in kept else np.zeros(len(kept), bool)
    videos = np.where(
        named,
        kept["video_id"].astype(str).to_numpy() if named.any() else "",
        [f"\0{i}" for i in range(len(kept))],
    )
    logged = pd.to_datetime(kept["logged_at"], utc=True) if len(kept) else None
    posted = (
        None
        if logged is None
        else logged - pd.to_timedelta(kept["age_minutes"].to_numpy(dtype=float), unit="min")
    )
    if posted is not None and "posted_at" in kept:
        # the logged posting time where there is one: a backtest (``likecast score``) logs
        # answers about videos posted long before it ran
        given = pd.to_datetime(kept["posted_at"], utc=True)
        posted = given.where(given.notna(), posted)
    return Window(
        values=values,
        buckets=buckets,
        days=0.0 if logged is None else (logged.max() - logged.min()) / pd.Timedelta(days=1),
        videos=videos,
        left_out={
            "other_versions_or_targets": int((~ours).sum()),
            "decided_by_counts": int((ours & decided).sum()),
            "ages_without_reference": int((~known).sum()),
        },
        middle=None if posted is None else posted.sort_values().iloc[len(posted) // 2],
    )


def expected_noise(shares: np.ndarray, first: int, second: int) -> float:
    """The Jensen-Shannon divergence two samples of ``first`` and ``second`` draws from
    ``shares`` show on average by chance: (bins - 1) (1/a + 1/b) / (8 ln 2), from its
    second-order expansion; what a difference between periods has to exceed to be drift."""
    filled = int(np.count_nonzero(shares))
    return max(filled - 1, 0) * (1 / max(first, 1) + 1 / max(second, 1)) / (8 * np.log(2))


def pace_per_day(reference: Reference, name: str, level: float, rng: np.random.Generator) -> float:
    """How fast ``name`` moved within the reference: the square root of the divergence between
    two of its periods, less chance's share, per day between their middles; the largest over
    the pairs at least half the periods apart (adjacent ones are the closest in time, so
    their chance differences weigh most per day). A pair counts only where it differs beyond
    what chance reaches with probability ``level``: carried over weeks, chance's differences
    between a few hundred videos would otherwise mask any change.

    The root (the Jensen-Shannon distance, a metric) grows in proportion to a small steady
    shift, where the divergence grows with its square, so the root is what scales with time.
    """
    periods = reference.periods
    apart = max(1, len(periods) // 2)
    rate = 0.0
    for i, j in itertools.combinations(range(len(periods)), 2):
        days = (periods[j].middle - periods[i].middle) / pd.Timedelta(days=1)
        if j - i < apart or days <= 0:
            continue
        p = np.asarray(periods[i].shares[name], dtype=float)
        q = np.asarray(periods[j].shares[name], dtype=float)
        distance = float(js_divergence(p, q))
        pooled = (p + q) / 2
        first, second = periods[i].videos, periods[j].videos
        if distance <= null_threshold(pooled, first, second, level, rng):
            continue
        excess = distance - expected_noise(pooled, first, second)
        rate = max(rate, np.sqrt(max(excess, 0.0)) / days)
    return rate


def gap_days(reference: Reference, window: Window) -> float | None:
    """Days between the reference's middle and the window's, by posting time; None when the
    reference keeps no periods (built before they were) or the window has no answers."""
    middle = reference.middle
    if middle is None or window.middle is None:
        return None
    return abs(window.middle - pd.Timestamp(middle)) / pd.Timedelta(days=1)


def compare(
    reference: Reference,
    window: Window,
    min_rows: int,
    false_alarm: float,
    seed: int,
) -> tuple[list[Check], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Every comparison of the window with the reference, and each quantity's shares in the
    window and in the reference mixed to the window's ages (for the mix and answer tables)."""
    rng = np.random.default_rng(seed)
    n = len(window.buckets)
    ages, sizes = np.unique(window.buckets, return_counts=True)
    weights = {f"{a:g}": s / n for a, s in zip(ages, sizes, strict=True)}
    populations: list[tuple[str, np.ndarray]] = [(ALL, np.ones(n, dtype=bool))]
    populations += [
        (f"{a:g}", window.buckets == a) for a, s in zip(ages, sizes, strict=True) if s >= min_rows
    ]
    quantities = [q for q in reference.bins if window.days >= CALENDAR.get(q, 0.0)]
    periodic = set(reference.periods[0].shares) if reference.periods else set()
    gap = gap_days(reference, window) or 0.0
    # a video asked about at several ages repeats its fixed features: the samples' sizes are
    # counted in videos, not answers, or a window of a few videos would look like many; and
    # as the videos weigh unevenly (one posted today is asked at eight ages in a day's
    # window, one posted days ago once), in the number of evenly weighted videos that vary
    # as much (Kish's effective size)
    sizes_of = {bucket: effective_videos(window.videos[rows]) for bucket, rows in populations}
    tests = len(populations) * len(quantities)
    ranks = {
        name: rank
        for rank, name in enumerate(
            sorted(reference.attribution, key=lambda f: -reference.attribution[f]), start=1
        )
    }
    checks: list[Check] = []
    window_shares: dict[str, np.ndarray] = {}
    reference_shares: dict[str, np.ndarray] = {}
    for name in quantities:
        bins = reference.bins[name]
        index = bin_index(window.values[name], bins)
        # the drift its own pace explains at this gap, the same in every bucket (the periods
        # mix ages like the whole reference)
        pace = 0.0
        # a calendar feature differs between periods by the calendar (periods of a day or two
        # hold different weekdays), which is no pace; Bonferroni over the quantities, as checks
        if name in periodic and name not in CALENDAR:
            rate = pace_per_day(reference, name, false_alarm / len(quantities), rng)
            pace = min((rate * gap) ** 2, 1.0)
        for bucket, rows in populations:
            counts = np.bincount(index[rows], minlength=bins.size).astype(float)
            expected, effective = _reference_at(reference, name, bucket, weights)
            smoothed = (expected * effective + PRIOR) / (effective + PRIOR * bins.size)
            distance = float(js_divergence(counts, expected))
            noise = null_threshold(smoothed, sizes_of[bucket], effective, false_alarm / tests, rng)
            # the Jensen-Shannon distance (the root) is a metric: the window is at most its
            # chance distance from where the pace has carried the reference, plus that far
            threshold = min((np.sqrt(noise) + np.sqrt(pace)) ** 2, 1.0)
            ratio = distance / max(threshold, 1e-12)
            checks.append(
                Check(
                    feature=name,
                    bucket=bucket,
                    rows=int(rows.sum()),
                    distance=distance,
                    noise=noise,
                    pace=pace,
                    threshold=threshold,
                    ratio=float(ratio),
                    moved=bool(distance > threshold),
                    attribution_rank=ranks.get(name),
                )
            )
            if bucket == ALL:
                window_shares[name] = counts / max(counts.sum(), 1)
                reference_shares[name] = expected
    return checks, window_shares, reference_shares


def effective_videos(videos: np.ndarray) -> int:
    """How many videos of one answer each vary as much as shares counted over these answers:
    (sum n)^2 / sum n^2, n each video's answers (Kish's effective sample size)."""
    _, answers = np.unique(videos, return_counts=True)
    if not answers.size:
        return 0
    return max(1, round(float(answers.sum()) ** 2 / float((answers**2).sum())))


def _reference_at(
    reference: Reference, name: str, bucket: str, weights: dict[str, float]
) -> tuple[np.ndarray, float]:
    """The reference's shares of ``name`` in ``bucket`` and its rows there; for all buckets,
    the buckets mixed by the window's weights, and the mixture's effective number of rows."""
    if bucket != ALL:
        population = reference.by_age[bucket]
        counts = np.asarray(population.counts[name], dtype=float)
        return counts / max(counts.sum(), 1), float(population.rows)
    shares = np.zeros(reference.bins[name].size)
    spread = 0.0  # sum of weight^2 / rows: the mixture's variance per unit, as rows
    for age, weight in weights.items():
        population = reference.by_age[age]
        counts = np.asarray(population.counts[name], dtype=float)
        shares += weight * counts / max(counts.sum(), 1)
        spread += weight**2 / max(population.rows, 1)
    # each reference video is a row in every bucket: never more rows than videos
    return shares, min(1 / spread, reference.videos) if spread > 0 else 0.0


def bin_names(reference: Reference, name: str) -> list[str]:
    """Each bin of ``name`` in words: a category's name, or a range of values."""
    if name == CATEGORY:
        return [*reference.categories, "unknown"]
    edges = [f"{e:.3g}" for e in reference.bins[name].edges]
    low = ["below " + edges[0]] if edges else ["all"]
    middle = [f"{a} to {b}" for a, b in itertools.pairwise(edges)]
    high = [f"{edges[-1]} and above"] if edges else []
    return [*low, *middle, *high, "unknown"]


def drift_report(
    reference: Reference,
    answers: pd.DataFrame,
    spec: FeatureSpec,
    version: str,
    *,
    since: str | None,
    until: str | None,
    min_rows: int,
    false_alarm: float,
    seed: int,
) -> DriftReport:
    """The drift of ``version``'s logged answers against its reference.

    Raises:
        UserError: The window holds fewer than ``min_rows`` answers of the version.
    """
    window = read_window(answers, spec, version, reference)
    n = len(window.buckets)
    if n < min_rows:
        raise UserError(
            f"only {n:,} answers of version {version} ({spec.target}) the model gave itself "
            f"in the window; drift needs at least {min_rows:,}: widen --since/--until"
        )
    checks, window_shares, reference_shares = compare(
        reference, window, min_rows, false_alarm, seed
    )
    moved_checks = [c for c in checks if c.moved and c.feature != ANSWER]
    moved = sorted({c.feature for c in moved_checks}, key=lambda f: -reference.attribution[f])
    return DriftReport(
        model_version=version,
        threshold=spec.threshold,
        horizon_days=spec.horizon_minutes / 1440,
        since=since,
        until=until,
        answers=n,
        left_out=window.left_out,
        not_compared=[q for q in reference.bins if window.days < CALENDAR.get(q, 0.0)],
        false_alarm=false_alarm,
        gap_days=gap_days(reference, window),
        pace_note=None
        if reference.periods
        else "the reference keeps no periods (built before they were): no pace part",
        comparisons=len(checks),
        checks=checks,
        moved=moved,
        moved_most_attributed=moved[0] if moved else None,
        category_mix=_shares(reference, CATEGORY, reference_shares, window_shares),
        answer_distribution=_shares(reference, ANSWER, reference_shares, window_shares),
        alert=any(c.moved for c in checks),
        max_ratio=max(c.ratio for c in checks),
        max_distance=max(c.distance for c in checks),
    )


def _shares(
    reference: Reference,
    name: str,
    reference_shares: dict[str, np.ndarray],
    window_shares: dict[str, np.ndarray],
) -> list[Share]:
    if name not in reference_shares:
        return []
    return [
        Share(name=label, reference=float(r), window=float(w))
        for label, r, w in zip(
            bin_names(reference, name), reference_shares[name], window_shares[name], strict=True
        )
    ]
