"""Probability calibration that survives as JSON.

A creator reads the number as a probability, so it has to be one. Both candidates are
monotone, which keeps the model's monotone guarantees intact after calibration.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np

EPS = 1e-6


@dataclass(frozen=True)
class Calibrator:
    """Maps raw log-odds to calibrated probabilities."""

    method: str  # "isotonic" | "platt" | "identity"
    x: tuple[float, ...] = ()  # isotonic knots (raw log-odds)
    y: tuple[float, ...] = ()  # isotonic values (probabilities)
    a: float = 1.0  # platt slope
    b: float = 0.0  # platt intercept

    def __call__(self, log_odds: np.ndarray) -> np.ndarray:
        log_odds = np.asarray(log_odds, dtype="float64")
        if self.method == "isotonic":
            p = np.interp(log_odds, *self._knots)
        elif self.method == "platt":
            p = 1.0 / (1.0 + np.exp(-(self.a * log_odds + self.b)))
        else:
            p = 1.0 / (1.0 + np.exp(-log_odds))
        return np.clip(p, EPS, 1 - EPS)

    @cached_property
    def _knots(self) -> tuple[np.ndarray, np.ndarray]:
        """The isotonic knots as arrays, made once: a served request calibrates one score."""
        return np.array(self.x), np.array(self.y)

    def to_json(self) -> str:
        """The calibrator as the bundle's JSON file."""
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Calibrator:
        """A calibrator from its JSON."""
        saved = json.loads(text)
        saved["x"], saved["y"] = tuple(saved["x"]), tuple(saved["y"])
        return cls(**saved)


# scikit-learn is imported by the fitting functions only: a served model calibrates with
# numpy, and the service's workers do not load scikit-learn at all (serving/api/service.py).


def fit_isotonic(log_odds: np.ndarray, y: np.ndarray) -> Calibrator:
    """An isotonic map from log-odds to the observed rate."""
    from sklearn.isotonic import IsotonicRegression

    iso = IsotonicRegression(out_of_bounds="clip", y_min=EPS, y_max=1 - EPS).fit(log_odds, y)
    return Calibrator(
        "isotonic", x=tuple(map(float, iso.X_thresholds_)), y=tuple(map(float, iso.y_thresholds_))
    )


def fit_platt(log_odds: np.ndarray, y: np.ndarray) -> Calibrator:
    """A logistic map from log-odds to probability (slope kept positive)."""
    from sklearn.linear_model import LogisticRegression

    lr = LogisticRegression(C=1e6).fit(log_odds.reshape(-1, 1), y)
    a = max(float(lr.coef_[0, 0]), 1e-3)  # never flip the ranking
    return Calibrator("platt", a=a, b=float(lr.intercept_[0]))


FITTERS = {"isotonic": fit_isotonic, "platt": fit_platt}


def choose_calibrator(
    log_odds: np.ndarray, y: np.ndarray, groups: np.ndarray
) -> tuple[Calibrator, dict]:
    """Pick isotonic or Platt by two-fold log loss (folds by video), then refit on all.

    Scoring in-sample would always favour isotonic, which can overfit a small slice.
    """
    from sklearn.metrics import log_loss
    from threadpoolctl import threadpool_limits

    fold = (np.unique(groups, return_inverse=True)[1] % 2).astype(bool)
    scores = {}
    # one-feature fits: a second BLAS thread only adds wake-ups
    with threadpool_limits(limits=1, user_api="blas"):
        for name, fit in FITTERS.items():
            losses = []
            for held in (fold, ~fold):
                if held.all() or (~held).all() or len(np.unique(y[~held])) < 2:
                    continue
                model = fit(log_odds[~held], y[~held])
                losses.append(log_loss(y[held], model(log_odds[held]), labels=[0, 1]))
            scores[name] = float(np.mean(losses)) if losses else float("inf")
        best = min(scores, key=scores.__getitem__)
        return FITTERS[best](log_odds, y), {
            f"calibration_logloss_{k}": v for k, v in scores.items()
        }
