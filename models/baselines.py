"""The baselines LightGBM has to beat, evaluated on the same split.

- Szabo-Huberman: the early count, projected log-linearly to the horizon, with the spread of
  that projection turned into a probability; the classic early-popularity baseline.
- Logistic regression on the same features (``models.logistic``): does boosting earn its
  complexity?
- The creator's own historical hit rate: what a creator would guess from their past.

Each takes the model's feature matrix, so the served blend (``models.blend``) computes the
first two for a request exactly as training evaluated them.
"""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr

from features.spec import FeatureSpec

EPS = 1e-6


def szabo_huberman_log_odds(matrix: np.ndarray, spec: FeatureSpec, prior: float) -> np.ndarray:
    """log-odds of P(ln(1+N_h) >= ln(1+T)) with ln(1+N_h) ~ Normal(projection, sigma(age)).

    A draft has no early count, so it gets the training base rate; so does a count read
    younger than any age training saw counts at, whose growth to the horizon is unknown.
    """
    at = spec.positions
    projected = matrix[:, at["projected_likes_log"]]
    obs_age = matrix[:, at["age_minutes"]] - matrix[:, at["minutes_since_obs"]]
    youngest = min(spec.szabo_huberman_ages, default=np.inf)
    projected = np.where(obs_age < youngest, np.nan, projected)
    prior_log_odds = np.log(prior / (1 - prior))
    if np.isnan(projected).all():  # drafts (a served one above all): no count to project
        return np.full(len(projected), prior_log_odds)
    # where/minimum/maximum rather than nan_to_num/clip: the same values (an infinite z
    # saturates the clip either way) at a fraction of the overhead on a served row
    sigma = spec.szabo_huberman_sigma(np.where(np.isnan(obs_age), 1.0, obs_age))
    z = (projected - np.log1p(spec.threshold)) / sigma
    z = np.where(np.isnan(z), 0.0, z)
    # log P(hit) - log P(miss), from log-CDFs so a far projection keeps its order
    log_odds = np.minimum(np.maximum(log_ndtr(z) - log_ndtr(-z), -13.8), 13.8)
    answered: np.ndarray = np.where(np.isnan(projected), prior_log_odds, log_odds)
    return answered


def szabo_huberman(matrix: np.ndarray, spec: FeatureSpec, prior: float) -> np.ndarray:
    """The early-count rule's probabilities."""
    log_odds = szabo_huberman_log_odds(matrix, spec, prior)
    p: np.ndarray = np.clip(1 / (1 + np.exp(-log_odds)), EPS, 1 - EPS)
    return p


def creator_hit_rate(
    matrix: np.ndarray, spec: FeatureSpec, prior: float, strength: float = 5.0
) -> np.ndarray:
    """The creator's recent hit rate, shrunk toward the base rate when history is short."""
    at = spec.positions
    n = np.minimum(matrix[:, at["hist_videos"]], 30.0)
    rate = np.nan_to_num(matrix[:, at["hist_hit_rate"]], nan=prior)
    p: np.ndarray = np.clip((rate * n + prior * strength) / (n + strength), EPS, 1 - EPS)
    return p
