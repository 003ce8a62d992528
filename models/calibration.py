"""A bundle's last step, from LightGBM's log-odds to the served probability, and the
calibration of bundles saved before the blend (``models.blend``), kept so they load.

Such a bundle maps LightGBM's log-odds to a probability by an isotonic or a Platt map, both
monotone; new bundles calibrate per age inside the blend. Both answer through
``Calibration``, so the bundle never asks which it holds (docs/adr/0043).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property
from typing import Protocol

import numpy as np

from features.spec import FeatureSpec

EPS = 1e-6


class Calibration(Protocol):
    """What a bundle's last step answers: probabilities, their intervals, and each
    probability with one feature's push taken out of LightGBM's log-odds."""

    @property
    def method(self) -> str: ...

    def probability(
        self, matrix: np.ndarray, log_odds: np.ndarray, spec: FeatureSpec
    ) -> np.ndarray: ...

    def interval(self, p: np.ndarray, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def without(
        self, contributions: np.ndarray, probability: np.ndarray, ages: np.ndarray
    ) -> np.ndarray: ...

    def to_json(self) -> str: ...


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
        clipped: np.ndarray = np.clip(p, EPS, 1 - EPS)
        return clipped

    def probability(
        self, matrix: np.ndarray, log_odds: np.ndarray, spec: FeatureSpec
    ) -> np.ndarray:
        """The calibrated log-odds (one map for every age: the matrix is not needed)."""
        return self(log_odds)

    def interval(self, p: np.ndarray, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """No interval: these bundles were saved before intervals existed (NaN)."""
        return np.full(len(p), np.nan), np.full(len(p), np.nan)

    def without(
        self, contributions: np.ndarray, probability: np.ndarray, ages: np.ndarray
    ) -> np.ndarray:
        """The map applied to the log-odds without each push (the contributions, base
        value last, add up to them), one column per feature."""
        pushes = contributions[:, :-1]
        return self(contributions.sum(axis=1, keepdims=True) - pushes)

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
