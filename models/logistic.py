"""The logistic baseline as plain numbers: fitted here, saved as JSON, predicted with numpy.

It is both a baseline LightGBM is judged against and one input of the served blend
(``models.blend``), so the service needs it without scikit-learn or pickle. Coefficients of
features with a monotone sign (``features.catalog.MONOTONE``) keep that sign, so more early
likes never lower its answer either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from features.catalog import MONOTONE
from models.estimator import to_matrix

MAX_ROWS = 20_000  # a seeded sample: more rows cost time and barely move its fit
L2 = 1.0  # scikit-learn's C=1: the penalty 0.5 |w|^2 against the summed log loss


@dataclass(frozen=True)
class LogisticBaseline:
    """Median-imputed, standardized numeric columns with missingness flags, and one-hot
    categories, under a logistic link."""

    numeric: tuple[int, ...]  # matrix columns used as numbers
    medians: tuple[float, ...]
    flagged: tuple[int, ...]  # matrix columns whose missingness is itself a column
    category: int  # matrix column of category codes; -1 when there is none
    n_categories: int
    means: tuple[float, ...]  # of each design column
    scales: tuple[float, ...]
    coef: tuple[float, ...]
    intercept: float

    def log_odds(self, matrix: np.ndarray) -> np.ndarray:
        """The baseline's log-odds for rows of the model's feature matrix."""
        numeric, flags, categories, intercept = self._folded
        values = matrix[:, self._numeric]
        z = np.where(np.isnan(values), self._medians, values) @ numeric + intercept
        z += np.isnan(matrix[:, self._flagged]) @ flags
        if self.category >= 0:
            codes = matrix[:, self.category]
            known = ~np.isnan(codes)
            z[known] += categories[codes[known].astype(int)]
        return np.asarray(z, dtype="float64")

    def log_odds_of_row(self, row: np.ndarray) -> float:
        """``log_odds`` of one row (a served draft's): the same operations in the same
        order on a 1-D row, a third of the numpy calls (tests/models/test_logistic.py checks
        the two agree to the bit)."""
        numeric, flags, categories, intercept = self._folded
        values = row[self._numeric]
        z = float(np.where(np.isnan(values), self._medians, values) @ numeric) + intercept
        z += float(np.isnan(row[self._flagged]) @ flags)
        if self.category >= 0:
            code = row[self.category]
            if code == code:  # not NaN: a known category
                z += float(categories[int(code)])
        return z

    # Derived once per model, not per call: a served request is one row.
    @cached_property
    def _medians(self) -> np.ndarray:
        return np.array(self.medians)

    @cached_property
    def _numeric(self) -> np.ndarray:
        """``numeric`` as an index array: indexing with the tuple converts it every call."""
        return np.array(self.numeric, dtype=np.intp)

    @cached_property
    def _flagged(self) -> np.ndarray:
        return np.array(self.flagged, dtype=np.intp)

    @cached_property
    def _folded(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """The coefficients with the standardization folded in, split by the design's
        parts: numbers, missingness flags, categories; and the intercept."""
        scaled = np.array(self.coef) / np.array(self.scales)
        intercept = self.intercept - float(np.array(self.means) @ scaled)
        n, f = len(self.numeric), len(self.flagged)
        return scaled[:n], scaled[n : n + f], scaled[n + f :], intercept

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, saved: dict[str, Any]) -> LogisticBaseline:
        return cls(**lists_as_tuples(saved))


def lists_as_tuples(saved: dict[str, Any]) -> dict[str, Any]:
    """A frozen dataclass's fields from its JSON, where its tuples came back as lists."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}


def fit_logistic(
    frame: pd.DataFrame, y: np.ndarray, n_categories: int, seed: int
) -> LogisticBaseline:
    """Fit on (a seeded sample of) the training features, each monotone sign enforced."""
    if len(frame) > MAX_ROWS:
        keep = np.sort(np.random.default_rng(seed).choice(len(frame), MAX_ROWS, replace=False))
        frame, y = frame.iloc[keep], y[keep]
    matrix, features = to_matrix(frame), list(frame.columns)
    category = features.index("category") if "category" in features else -1
    numeric = tuple(j for j, name in enumerate(features) if j != category)
    medians = _medians(matrix[:, numeric])
    flagged = tuple(j for j in numeric if np.isnan(matrix[:, j]).any())
    design = np.hstack(
        [_design(matrix, numeric, medians, flagged), _one_hot(matrix, category, n_categories)]
    )
    means, scales = design.mean(0), design.std(0)
    scales[scales == 0] = 1.0
    x = (design - means) / scales
    signs = [MONOTONE.get(features[j], 0) for j in numeric]
    bounds = [(0, None) if s > 0 else (None, 0) if s < 0 else (None, None) for s in signs]
    bounds += [(None, None)] * (x.shape[1] - len(numeric) + 1)  # flags, categories, intercept
    w = _fit(x, y.astype("float64"), bounds)
    return LogisticBaseline(
        numeric=numeric,
        medians=tuple(map(float, medians)),
        flagged=flagged,
        category=category,
        n_categories=n_categories,
        means=tuple(map(float, means)),
        scales=tuple(map(float, scales)),
        coef=tuple(map(float, w[:-1])),
        intercept=float(w[-1]),
    )


def _fit(
    x: np.ndarray, y: np.ndarray, bounds: Sequence[tuple[float | None, float | None]]
) -> np.ndarray:
    """Penalized log loss minimized under the sign bounds (L-BFGS-B); the intercept is free."""
    from scipy.optimize import minimize  # fitting only: the service never loads it

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        p = expit(z)
        # log(1 + e^z) - y z, summed: the log loss written to stay finite for large |z|
        value = np.sum(np.logaddexp(0, z) - y * z) + 0.5 * L2 * w[:-1] @ w[:-1]
        residual = p - y
        return float(value), np.r_[x.T @ residual + L2 * w[:-1], residual.sum()]

    start = np.zeros(x.shape[1] + 1)
    start[-1] = np.log(max(y.mean(), 1e-6) / max(1 - y.mean(), 1e-6))
    fitted: np.ndarray = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return fitted


def _medians(values: np.ndarray) -> np.ndarray:
    """Each column's median, 0 for a column with no values at all (empty text, no counts)."""
    present = ~np.isnan(values)
    return np.array(
        [
            np.median(col[ok]) if ok.any() else 0.0
            for col, ok in zip(values.T, present.T, strict=True)
        ]
    )


def _design(
    matrix: np.ndarray, numeric: tuple[int, ...], medians: np.ndarray, flagged: tuple[int, ...]
) -> np.ndarray:
    values = matrix[:, numeric]
    filled = np.where(np.isnan(values), medians, values)
    return np.hstack([filled, np.isnan(matrix[:, flagged]).astype("float64")])


def _one_hot(matrix: np.ndarray, category: int, n_categories: int) -> np.ndarray:
    """One column per training category; an unknown or missing category is all zeros."""
    out = np.zeros((len(matrix), n_categories))
    if category >= 0:
        codes = matrix[:, category]
        known = ~np.isnan(codes)
        out[np.flatnonzero(known), codes[known].astype(int)] = 1.0
    return out


def predict_proba(model: LogisticBaseline, matrix: np.ndarray) -> np.ndarray:
    """The baseline's probabilities, clipped as every baseline's are."""
    p: np.ndarray = np.clip(expit(model.log_odds(matrix)), 1e-6, 1 - 1e-6)
    return p
