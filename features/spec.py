"""What the feature step learns from training data, saved as JSON inside the model bundle.

Everything that depends on training data (the category list, the Szabo-Huberman offsets) is
fitted once on the training slice, so a served request is transformed exactly as its training
examples were.
"""

from __future__ import annotations

import bisect
import json
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from features.catalog import FEATURES
from likecast.target import Target

# Bundles saved before the Szabo-Huberman fields were spelled out still load.
_OLD_NAMES = {
    "sh_ages": "szabo_huberman_ages",
    "sh_offsets": "szabo_huberman_offsets",
    "sh_sigmas": "szabo_huberman_sigmas",
}


@dataclass(frozen=True)
class FeatureSpec:
    """What the feature step learned from training data; saved as JSON with the model.

    The Szabo-Huberman fields hold, at each observation age, the mean and spread of
    ln(1 + likes at the horizon) - ln(1 + likes at that age) over the training videos.
    """

    categories: tuple[str, ...]
    threshold: int
    horizon_minutes: float
    timezone: str
    szabo_huberman_ages: tuple[float, ...] = ()
    szabo_huberman_offsets: tuple[float, ...] = ()
    szabo_huberman_sigmas: tuple[float, ...] = ()
    features: tuple[str, ...] = field(default_factory=lambda: FEATURES)
    ages: tuple[float, ...] = ()  # the prediction ages it was trained at
    # each feature's smallest and largest value in the train slice (NaN: not clamped);
    # empty in bundles saved before ranges were frozen
    ranges: tuple[tuple[float, float], ...] = ()
    # rate -> [category code (the last: any category)][age index]: the median rate of
    # counted train rows (``_rate_medians``); empty where training never saw the rate
    rate_medians: dict[str, list[list[float]]] = field(default_factory=dict)

    @property
    def target(self) -> Target:
        """The question the model answers: its threshold within its horizon."""
        return Target(int(self.threshold), float(self.horizon_minutes))

    def to_json(self) -> str:
        """The spec as the bundle's JSON file."""
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        """A spec from its JSON, including one saved under the fields' earlier names."""
        saved = json.loads(text)
        fields: dict[str, Any] = {
            _OLD_NAMES.get(k, k): tuple(v) if isinstance(v, list) else v for k, v in saved.items()
        }
        fields["ranges"] = tuple(tuple(edge) for edge in fields.get("ranges", ()))
        return cls(**fields)

    def szabo_huberman_offset(self, obs_age: np.ndarray) -> np.ndarray:
        """ln(1+N_horizon) - ln(1+N_age) expected at each age, interpolated in log-age."""
        return self._interp(obs_age, self._offsets)

    def szabo_huberman_sigma(self, obs_age: np.ndarray) -> np.ndarray:
        """The spread of that projection at each age, interpolated in log-age."""
        return self._interp(obs_age, self._sigmas)

    # Derived once per spec, not per call: a served request is one row, for which building
    # these small arrays and dicts cost as much as the features themselves.
    @cached_property
    def positions(self) -> dict[str, int]:
        """Each feature's column in the model's matrix."""
        return {name: j for j, name in enumerate(self.features)}

    @cached_property
    def edges(self) -> tuple[np.ndarray, np.ndarray] | None:
        """(lows, highs) of every feature's training range, aligned with ``features``."""
        if not self.ranges:
            return None
        lows, highs = np.array(self.ranges, dtype="float64").T
        return lows, highs

    @cached_property
    def category_lookup(self) -> dict[str, float]:
        """Each training category's code, as the float the matrix holds."""
        return {c: float(i) for i, c in enumerate(self.categories)}

    @cached_property
    def _log_ages(self) -> np.ndarray:
        return np.log1p(np.array(self.szabo_huberman_ages))

    # np.interp turns a tuple into an array on every call: a tenth of a served row's blend
    @cached_property
    def _offsets(self) -> np.ndarray:
        return np.array(self.szabo_huberman_offsets, dtype="float64")

    @cached_property
    def _sigmas(self) -> np.ndarray:
        return np.array(self.szabo_huberman_sigmas, dtype="float64")

    def _interp(self, obs_age: np.ndarray, values: np.ndarray) -> np.ndarray:
        if not self.szabo_huberman_ages:
            return np.full(np.shape(obs_age), np.nan)
        x = np.log1p(np.asarray(obs_age, dtype="float64"))
        return np.interp(x, self._log_ages, values)


UNKNOWABLE_RATES = ("completion_rate", "retention_3s")  # rates a row may leave blank
RATE_BINS = 200  # a rate's median is read from counts in bins this fine (width 0.005)
MIN_RATE_ROWS = 30  # fewer rows of a category at an age: its rates' median is all categories'
# what fit_spec reads
SPEC_COLUMNS = ("category", "age_minutes", "obs_age_minutes", "likes", *UNKNOWABLE_RATES)


def grid_index(ages: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Index of the grid age (``grid`` sorted) at or below each age; the first for younger."""
    if len(ages) == 1:  # a served row: bisect finds the same index as searchsorted
        k = bisect.bisect_right(grid, ages[0]) - 1  # NaN sorts last in both
        return np.array([min(max(k, 0), len(grid) - 1)], dtype=np.intp)
    # maximum/minimum, not np.clip: the same indices, at a fraction of np.clip's overhead
    return np.minimum(np.maximum(np.searchsorted(grid, ages, side="right") - 1, 0), len(grid) - 1)


def age_bucket(ages: np.ndarray, grid: tuple[float, ...]) -> np.ndarray:
    """The grid age at or below each age: 45 minutes falls in the 30-minute bucket."""
    edges = np.array(sorted(grid))
    return edges[grid_index(ages, edges)]


def fit_spec(
    rows: pd.DataFrame,
    likes_at_horizon: pd.Series,
    threshold: int,
    horizon_minutes: float,
    timezone: str,
    ages: tuple[float, ...],
) -> FeatureSpec:
    """Learn categories and the per-age log-linear offsets from training rows only."""
    categories, moments = spec_moments(rows, likes_at_horizon)
    return spec_from_moments(
        categories, moments, threshold, horizon_minutes, timezone, ages, rate_counts(rows)
    )


def spec_moments(rows: pd.DataFrame, likes_at_horizon: pd.Series) -> tuple[set[str], pd.DataFrame]:
    """What the spec learns from some training rows, in a form that adds up across
    partitions: their categories, and per age the count, sum and sum of squares of the
    log gap between the likes seen and the likes at the horizon."""
    categories = {str(c) for c in pd.unique(rows["category"].dropna())}
    observed = rows["obs_age_minutes"].notna() & likes_at_horizon.notna()
    gap = np.log1p(likes_at_horizon[observed]) - np.log1p(rows.loc[observed, "likes"])
    by_age = pd.DataFrame({"age": rows.loc[observed, "age_minutes"], "gap": gap, "sq": gap**2})
    moments = by_age.groupby("age").agg(n=("gap", "size"), sum=("gap", "sum"), sumsq=("sq", "sum"))
    return categories, moments


def rate_counts(rows: pd.DataFrame) -> pd.Series:
    """How many counted rows had each rate in each bin, per category and age: the rates'
    medians in a form that adds up across partitions (``spec_from_moments``)."""
    counted = rows[rows["likes"].notna()]
    category = counted["category"].astype(object).fillna("").astype(str).to_numpy()
    parts = []
    for name in UNKNOWABLE_RATES:
        values = counted[name].to_numpy(dtype="float64", na_value=np.nan)
        known = ~np.isnan(values)
        bins = np.clip((values[known] * RATE_BINS).astype(int), 0, RATE_BINS - 1)
        part = pd.DataFrame(
            {
                "rate": name,
                "category": category[known],
                "age": counted["age_minutes"].to_numpy(dtype="float64")[known],
                "bin": bins,
            }
        )
        parts.append(part.groupby(["rate", "category", "age", "bin"]).size())
    return pd.concat(parts).rename("n")


def spec_from_moments(
    categories: set[str],
    moments: pd.DataFrame,
    threshold: int,
    horizon_minutes: float,
    timezone: str,
    ages: tuple[float, ...],
    rates: pd.Series | None = None,
) -> FeatureSpec:
    """The spec from ``spec_moments`` (summed over partitions, if any): each age's mean and
    sample standard deviation of the gap, and the rates' medians from ``rate_counts``."""
    n = moments["n"].astype(float)
    mean = moments["sum"] / n
    variance = (moments["sumsq"] - n * mean**2) / (n - 1).where(n > 1)
    stats = pd.DataFrame({"mean": mean, "std": np.sqrt(variance.clip(lower=0))}).dropna()
    fitted_ages = (*stats.index.astype(float), horizon_minutes)
    offsets = (*stats["mean"].astype(float), 0.0)
    sigmas = (*stats["std"].clip(lower=0.05).astype(float), 0.05)
    order = np.argsort(fitted_ages)
    return FeatureSpec(
        categories=tuple(sorted(categories)),
        threshold=threshold,
        horizon_minutes=horizon_minutes,
        timezone=timezone,
        szabo_huberman_ages=tuple(float(fitted_ages[i]) for i in order),
        szabo_huberman_offsets=tuple(float(offsets[i]) for i in order),
        szabo_huberman_sigmas=tuple(float(sigmas[i]) for i in order),
        ages=tuple(float(a) for a in sorted(ages)),
        rate_medians=_rate_medians(rates, sorted(categories), sorted(ages)),
    )


def _rate_medians(
    counts: pd.Series | None, categories: list[str], ages: list[float]
) -> dict[str, list[list[float]]]:
    """rate -> [category code, then any category][age index] -> the median rate of counted
    training rows (NaN where no row had it), read from ``rate_counts``.

    A blank rate is answered at this median of videos like it (``features.matrix``), in
    training as at answer time: left blank, LightGBM would send it down a branch learned
    from few rows, which answered blank rates as the best case.
    """
    if counts is None or counts.empty:
        return {}
    medians = {}
    for name in UNKNOWABLE_RATES:
        if name not in counts.index.get_level_values("rate"):
            continue
        of_rate = counts.xs(name, level="rate")
        overall = of_rate.groupby(level=["age", "bin"]).sum()
        by_category = of_rate.groupby(level=["category", "age", "bin"]).sum()
        known = set(by_category.index.get_level_values("category"))
        anywhere = [_median(overall, (age,)) for age in ages]
        table = [
            [_median(by_category, (category, age)) if category in known else np.nan for age in ages]
            for category in categories
        ]
        medians[name] = [
            *([c if c == c else a for c, a in zip(row, anywhere, strict=True)] for row in table),
            anywhere,
        ]
    return medians


def _median(counts: pd.Series, key: tuple) -> float:
    """The median of the binned rates under ``key``: NaN with under ``MIN_RATE_ROWS``."""
    try:
        bins = counts.loc[key]
    except KeyError:
        return float("nan")
    total = bins.sum()
    if total < MIN_RATE_ROWS:
        return float("nan")
    middle = int(np.searchsorted(bins.cumsum().to_numpy(), total / 2))
    return float((bins.index[middle] + 0.5) / RATE_BINS)


def with_ranges(spec: FeatureSpec, train: pd.DataFrame) -> FeatureSpec:
    """The spec with each numeric feature's range in the train slice frozen in it: answers
    for inputs beyond it are given at its edge (``features.matrix.clamp``), never from trees
    or a logistic line extended where no training video was."""
    ranges = []
    for name in spec.features:
        column = train[name]
        if isinstance(column.dtype, pd.CategoricalDtype) or not column.notna().any():
            ranges.append((np.nan, np.nan))
        else:
            ranges.append((float(column.min()), float(column.max())))
    return replace(spec, ranges=tuple(ranges))
