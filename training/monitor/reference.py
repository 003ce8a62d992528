"""The drift reference, built at training from the held-out rows the model was judged on.

The rows are the test slice's open examples: the latest videos before the model's cutoff
(the closest to what it will serve), answered by the finished bundle exactly as served, and
unseen by any fitting step. Above ``drift_reference_rows`` a seeded sample of them is kept.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.spec import FeatureSpec, age_bucket
from models.bundle import ModelBundle
from models.estimator import to_matrix
from models.reference import ANSWER, CATEGORY, Bins, Period, Population, Reference

BINS = 10  # quantile bins per quantity: fine enough to see a shift, coarse for small windows
# successive slices of the reference by posting time, to measure its own pace of change: two
# far apart are needed; four keep a few thousand rows each at the default 20,000
PERIODS = 4
# the age is what the buckets are made of; its mix is the traffic's, not the platform's
LEFT_OUT = frozenset({"age_minutes"})


@dataclass(frozen=True)
class Rows:
    """Feature rows with each row's age, video and its posting time (datetime64[ns], UTC)."""

    x: pd.DataFrame
    ages: np.ndarray
    videos: np.ndarray
    posted: np.ndarray


def posting_times(values: object) -> np.ndarray:
    """Posting times as naive UTC datetime64[ns], whatever zone or unit they came in."""
    times = pd.to_datetime(pd.Series(values), utc=True).dt.tz_convert(None)
    return times.to_numpy(dtype="datetime64[ns]")


def quantile_bins(values: np.ndarray, bins: int = BINS) -> Bins:
    """Cut points at the known values' quantiles, each a value seen, duplicates merged: a
    discrete feature (an hour, a flag) gets one bin per value where it has few."""
    known = values[np.isfinite(values)]
    if known.size == 0:
        return Bins(edges=[])
    cuts = np.quantile(known, np.linspace(0, 1, bins + 1)[1:-1], method="lower")
    edges = np.unique(cuts)
    if edges.size and edges[0] <= known.min():  # a first bin that nothing could fall in
        edges = edges[1:]
    return Bins(edges=[float(e) for e in edges])


def category_bins(categories: int) -> Bins:
    """One bin per category code (0, 1, ...): the bins are the category mix."""
    return Bins(edges=[c + 0.5 for c in range(categories - 1)])


def bin_index(values: np.ndarray, bins: Bins) -> np.ndarray:
    """Each value's bin: by the cut points, and the last bin for unknown (NaN) values."""
    index = np.searchsorted(np.asarray(bins.edges, dtype=float), values, side="right")
    return np.where(np.isfinite(values), index, bins.size - 1)


def bin_counts(values: np.ndarray, bins: Bins) -> list[int]:
    return [int(c) for c in np.bincount(bin_index(values, bins), minlength=bins.size)]


def monitored(features: list[str] | tuple[str, ...]) -> list[str]:
    """The features whose drift is watched, in the model's order."""
    return [name for name in features if name not in LEFT_OUT]


def periods(
    values: dict[str, np.ndarray],
    bins: dict[str, Bins],
    buckets: np.ndarray,
    posted: np.ndarray,
    videos: np.ndarray,
    count: int = PERIODS,
) -> list[Period]:
    """The rows cut into ``count`` successive periods of about equal rows by posting time,
    each period's shares mixed over age buckets by the whole rows' age shares, so that
    periods differ by when the videos were posted, not by which ages they hold."""
    times = pd.Series(pd.to_datetime(posting_times(posted), utc=True))
    nanos = posting_times(posted).astype(np.int64)
    cuts = np.quantile(nanos, np.linspace(0, 1, count + 1)[1:-1], method="lower")
    period = np.searchsorted(cuts, nanos, side="right")
    ages, sizes = np.unique(buckets, return_counts=True)
    weight = dict(zip(ages, sizes / sizes.sum(), strict=True))
    result = []
    for k in range(count):
        rows = period == k
        if not rows.any():
            continue  # so few distinct posting times that quantiles coincide
        shares = {}
        for name, v in values.items():
            mixed, total = np.zeros(bins[name].size), 0.0
            for age in np.unique(buckets[rows]):
                at = rows & (buckets == age)
                mixed += weight[age] * np.asarray(bin_counts(v[at], bins[name])) / at.sum()
                total += weight[age]
            shares[name] = [float(x) for x in mixed / total]
        when = times[rows]
        result.append(
            Period(
                posted_from=when.min(),
                posted_until=when.max(),
                middle=when.iloc[int(np.argsort(nanos[rows])[rows.sum() // 2])],
                rows=int(rows.sum()),
                videos=len(np.unique(videos[rows])),
                shares=shares,
            )
        )
    return result


def build_reference(
    bundle: ModelBundle,
    held_out: Rows,
    span: Rows,
    seed: int,
    max_rows: int,
    attribution_rows: int,
) -> Reference:
    """The reference of ``bundle`` from held-out feature rows of ``videos`` at their ``ages``.

    Edges are the pooled rows' quantiles, shared by every age bucket, so a bucket's counts
    and a mix of buckets (weighted like a window's ages) are on the same bins. The periods,
    the reference's own pace, are cut from ``span``: rows over a longer time than the held-out
    slice (every slice's), since the inputs' drift needs no rows unseen by fitting, and the
    pace over a few days of a few hundred videos is lost in chance. The answer, fitted to
    most of those rows, has no periods.
    """
    features, ages, videos = held_out.x, held_out.ages, held_out.videos
    spec = bundle.spec
    rng = np.random.default_rng(seed)
    total = len(features)
    keep = np.arange(total)
    if total > max_rows:
        keep = np.sort(rng.choice(total, max_rows, replace=False))
    matrix = to_matrix(features.iloc[keep])
    values = {name: matrix[:, spec.positions[name]] for name in monitored(spec.features)}
    values[ANSWER] = bundle.predict_matrix(matrix)
    bins = {
        name: category_bins(len(spec.categories)) if name == CATEGORY else quantile_bins(v)
        for name, v in values.items()
    }
    buckets = age_bucket(np.asarray(ages, dtype=float)[keep], spec.ages)
    by_age = {}
    for age in spec.ages:
        rows = buckets == age
        by_age[f"{age:g}"] = Population(
            rows=int(rows.sum()),
            counts={name: bin_counts(v[rows], bins[name]) for name, v in values.items()},
        )
    sample = np.sort(rng.permutation(keep)[:attribution_rows])
    shap = np.abs(bundle.pushes(to_matrix(features.iloc[sample]))[:, :-1]).mean(axis=0)
    return Reference(
        source=f"test slice: {len(keep):,} of its {total:,} open examples",
        rows=len(keep),
        videos=len(np.unique(np.asarray(videos)[keep])),
        bins=bins,
        categories=list(spec.categories),
        by_age=by_age,
        attribution={name: float(shap[spec.positions[name]]) for name in monitored(spec.features)},
        periods=span_periods(span, bins, spec, rng, max_rows * PERIODS),
    )


def span_periods(
    span: Rows, bins: dict[str, Bins], spec: FeatureSpec, rng: np.random.Generator, most: int
) -> list[Period]:
    """The periods of ``span``'s rows (a seeded sample of ``most`` beyond), on ``bins``."""
    keep = np.arange(len(span.x))
    if len(keep) > most:
        keep = np.sort(rng.choice(len(keep), most, replace=False))
    matrix = to_matrix(span.x.iloc[keep])
    values = {name: matrix[:, spec.positions[name]] for name in monitored(spec.features)}
    buckets = age_bucket(np.asarray(span.ages, dtype=float)[keep], spec.ages)
    return periods(values, bins, buckets, span.posted[keep], np.asarray(span.videos)[keep])
