"""The served answer's last step: per age, LightGBM blended with the two simple baselines.

At each age the model was trained at, one small logistic regression on held-out videos
(the calib slice) maps three log-odds to the probability: LightGBM's, the Szabo-Huberman
early count's and the logistic baseline's. Its weights are never negative, so where a
baseline knows better the blend leans on it, and since every input is monotone in the early
counts, so is the answer. Fitted per age, it is also the calibration at that age.

Each answer's interval says how many of ``GROUP`` videos like this one would likely reach the
threshold: the central 80% of a beta-binomial, centred on the answer, as sure of it as the
calib videos behind each tenth of that age's calibration allow (docs/adr/0025
and 0026).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from functools import cached_property

import numpy as np
from scipy.special import expit

from features.spec import FeatureSpec, age_bucket, grid_index
from models.baselines import szabo_huberman_log_odds
from models.logistic import LogisticBaseline, lists_as_tuples

INPUTS = ("lightgbm", "szabo_huberman", "logistic")
EPS = 1e-6
LEVEL = 0.8
GROUP = 100  # the interval is for the hit rate among this many videos like the one asked about
MIN_AGE_ROWS = 200  # fewer calib rows at an age: that age shares the all-ages fit
# the probabilities an age's interval is worked out at; answers between them interpolate
KNOTS = tuple(float(k) for k in expit(np.linspace(-9, 9, 61)))
# The weights start from the early-count rule alone, held by a light pull (as if from this
# many videos) that keeps them finite when one input separates a small slice.
RULE_VIDEOS = 2
RULE = np.array([0.0, 1.0, 0.0, 0.0])  # weights of ``INPUTS`` and intercept: the rule alone
# Where the rule has no count to read (drafts, ages younger than its own) it answers one
# constant, the base rate: falling back to it would answer every draft alike (ROC AUC 0.5).
# There the weights start from, and fall back to, LightGBM's own log-odds (docs/adr/0050).
LIGHTGBM = np.array([1.0, 0.0, 0.0, 0.0])
RANKING = [INPUTS.index("lightgbm"), INPUTS.index("logistic")]  # the inputs that vary there


@dataclass(frozen=True)
class AgeBlend:
    """The blend at one training age: weights of ``INPUTS``, intercept, interval knots."""

    age: float
    weights: tuple[float, ...]
    intercept: float
    evidence: float  # calib rows behind the calibration at any one probability
    low: tuple[float, ...]  # at each of ``KNOTS``
    high: tuple[float, ...]


@dataclass(frozen=True)
class Blend:
    """Per-age blends plus what the baselines need at answer time."""

    ages: tuple[AgeBlend, ...]
    logistic: LogisticBaseline
    prior: float  # training hit rate: the early-count rule's answer when there is no count
    method: str = "blend"

    def probability(
        self, matrix: np.ndarray, log_odds: np.ndarray, spec: FeatureSpec
    ) -> np.ndarray:
        """Probabilities of the feature matrix's rows, given LightGBM's log-odds of them."""
        inputs = blend_inputs(matrix, log_odds, spec, self.logistic, self.prior)
        which = self._which(matrix[:, spec.positions["age_minutes"]])
        weights, intercepts = self._table
        z = (inputs * weights[which]).sum(1) + intercepts[which]
        p: np.ndarray = np.minimum(np.maximum(expit(z), EPS), 1 - EPS)  # as np.clip, cheaper
        return p

    def lightgbm_weight(self, ages: np.ndarray) -> np.ndarray:
        """The weight on LightGBM's log-odds at each age: how much of a SHAP push (log-odds
        of LightGBM) reaches the served answer's log-odds; 0 where it fell back to the rule."""
        weights: np.ndarray = self._table[0][self._which(ages), INPUTS.index("lightgbm")]
        return weights

    def without(
        self, contributions: np.ndarray, probability: np.ndarray, ages: np.ndarray
    ) -> np.ndarray:
        """Each probability with each feature's push (``contributions``, base value last)
        taken out of LightGBM's log-odds, one column per feature.

        The blend is linear in LightGBM's log-odds at each age, so taking a push ``s`` out
        moves the answer's own log-odds by ``w * s`` (``w`` the age's weight on LightGBM).
        """
        weight = self.lightgbm_weight(ages)
        logit = np.log(probability / (1 - probability))[:, None]
        p: np.ndarray = np.clip(
            expit(logit - weight[:, None] * contributions[:, :-1]), EPS, 1 - EPS
        )
        return p

    def interval(self, p: np.ndarray, ages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 80% interval around each probability, from its age's bins."""
        which = self._which(ages)
        knots, bins = self._bins
        if len(p) == 1:  # a served row: its one age, no masks
            lows, highs = bins[which[0]]
            return np.minimum(np.interp(p, knots, lows), p), np.maximum(
                np.interp(p, knots, highs), p
            )
        low, high = np.empty(len(p)), np.empty(len(p))
        for k in set(which.tolist()):  # np.unique would sort: several times the cost of a row
            rows = which == k
            lows, highs = bins[k]
            low[rows] = np.interp(p[rows], knots, lows)
            high[rows] = np.interp(p[rows], knots, highs)
        return np.minimum(low, p), np.maximum(high, p)

    def _which(self, ages: np.ndarray) -> np.ndarray:
        """Index of the training age at or below each age (the first for younger ones)."""
        return grid_index(ages, self._edges)

    # Derived once per model, not per call: a served request is one row.
    @cached_property
    def _edges(self) -> np.ndarray:
        return np.array([a.age for a in self.ages])

    @cached_property
    def _bins(self) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
        """``KNOTS`` and each age's (low, high) at them, as arrays: np.interp would convert
        the tuples on every call."""
        bins = [(np.array(a.low), np.array(a.high)) for a in self.ages]
        return np.array(KNOTS), bins

    @cached_property
    def _table(self) -> tuple[np.ndarray, np.ndarray]:
        """Each age's weights (a row each) and intercepts."""
        return np.array([a.weights for a in self.ages]), np.array([a.intercept for a in self.ages])

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str) -> Blend:
        saved = json.loads(text)
        ages = tuple(AgeBlend(**lists_as_tuples(a)) for a in saved["ages"])
        return cls(ages, LogisticBaseline.from_dict(saved["logistic"]), saved["prior"])


def blend_inputs(
    matrix: np.ndarray,
    log_odds: np.ndarray,
    spec: FeatureSpec,
    logistic: LogisticBaseline,
    prior: float,
) -> np.ndarray:
    """The ``INPUTS`` log-odds of the matrix's rows, one column each."""
    inputs = np.empty((len(matrix), len(INPUTS)))  # filled in place: column_stack costs more
    inputs[:, 0] = log_odds
    inputs[:, 1] = szabo_huberman_log_odds(matrix, spec, prior)
    inputs[:, 2] = logistic.log_odds(matrix)
    return inputs


def fit_blend(
    matrix: np.ndarray,
    log_odds: np.ndarray,
    y: np.ndarray,
    video_ids: np.ndarray,
    spec: FeatureSpec,
    logistic: LogisticBaseline,
    prior: float,
) -> Blend:
    """One blend per training age, from held-out rows (the calib slice) and their labels.

    ``video_ids`` says which rows are the same video at other ages: evidence is counted in
    videos, not rows.
    """
    inputs = blend_inputs(matrix, log_odds, spec, logistic, prior)
    ages = age_bucket(matrix[:, spec.positions["age_minutes"]], spec.ages)
    video = np.unique(video_ids, return_inverse=True)[1]
    rows_per_video = len(y) / max(video.max() + 1, 1)
    pooled = _checked(inputs, y, video, RULE, RULE_VIDEOS * rows_per_video)
    fitted = []
    for age in sorted(spec.ages):
        rows = ages == age
        enough = rows.sum() >= MIN_AGE_ROWS and 0 < y[rows].sum() < rows.sum()
        anchor = _anchor(inputs[rows])
        if enough:
            w = _checked(inputs[rows], y[rows], video[rows], anchor, RULE_VIDEOS)
        elif anchor is LIGHTGBM and not pooled[RANKING].any():
            w = LIGHTGBM.copy()  # the all-ages fit fell back to the rule: one constant here
        else:
            w = pooled
        weights, intercept = tuple(map(float, w[:-1])), float(w[-1])
        evidence = max(rows.sum() / 10, 10.0)  # as if each tenth of the rows were one bin
        fitted.append(AgeBlend(float(age), weights, intercept, evidence, *_range(evidence)))
    return Blend(tuple(fitted), logistic, prior)


def _anchor(inputs: np.ndarray) -> np.ndarray:
    """What an age's weights start from and fall back to: the early-count rule, or LightGBM
    where the rule's log-odds are one constant over the age's rows (it has no count there)."""
    rule = inputs[:, INPUTS.index("szabo_huberman")]
    return LIGHTGBM if rule.size and np.ptp(rule) == 0 else RULE


def _checked(
    x: np.ndarray, y: np.ndarray, video: np.ndarray, anchor: np.ndarray, strength: float
) -> np.ndarray:
    """The fitted weights if, fitted on one half of the videos and scored on the other (both
    ways), they are measurably better than ``anchor`` alone (the early-count rule, or
    LightGBM where the rule is a constant); else the anchor's.

    On a few hundred videos a fitted blend can be worse than the rule it starts from. (The
    logistic baseline alone as a second fallback was tried: on youtube_in it displaced a
    blend that was better on the test videos; docs/adr/0025.)
    """
    fold = (video % 2).astype(bool)
    held_out = np.zeros(len(y))  # each row's log-odds from the half it was not fitted on
    for held in (fold, ~fold):
        if held.all() or not held.any() or len(np.unique(y[~held])) < 2:
            return anchor.copy()
        held_out[held] = _log_odds(_weights(x[~held], y[~held], anchor, strength), x[held])
    if _better(_log_odds(anchor, x), held_out, y, video):
        return _weights(x, y, anchor, strength)
    return anchor.copy()


def _better(base: np.ndarray, other: np.ndarray, y: np.ndarray, video: np.ndarray) -> bool:
    """Whether log-odds ``other`` beat ``base`` by more than twice the standard error of
    the log-loss gain, counted per video (a video's rows at several ages are one piece of
    evidence)."""
    gain = np.bincount(video, weights=_log_loss(base, y) - _log_loss(other, y))
    gain = gain[np.bincount(video) > 0]
    if len(gain) < 2:
        return False
    return bool(gain.mean() > 2 * gain.std(ddof=1) / np.sqrt(len(gain)))


def _log_odds(weights: np.ndarray, x: np.ndarray) -> np.ndarray:
    z: np.ndarray = x @ weights[:-1] + weights[-1]
    return z


def _log_loss(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Each row's log loss, from its log-odds ``z``."""
    loss: np.ndarray = np.logaddexp(0, z) - y * z
    return loss


def _weights(x: np.ndarray, y: np.ndarray, anchor: np.ndarray, strength: float) -> np.ndarray:
    """Non-negative weights and an intercept (last) minimizing the mean log loss, plus a pull
    toward ``anchor`` (weights and intercept) worth ``strength`` rows."""
    # scipy's optimize and stats are imported where a blend is fitted: a service that only
    # answers never loads them
    from scipy.optimize import minimize

    pull = strength / len(y)

    def loss(w: np.ndarray) -> tuple[float, np.ndarray]:
        z = x @ w[:-1] + w[-1]
        away = w - anchor
        value = np.mean(np.logaddexp(0, z) - y * z) + pull * away @ away
        residual = (expit(z) - y) / len(y)
        return float(value), np.r_[x.T @ residual, residual.sum()] + 2 * pull * away

    start = anchor.copy()
    bounds = [(0.0, None)] * x.shape[1] + [(None, None)]
    fitted: np.ndarray = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds).x
    return fitted


def _range(evidence: float) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """At each of ``KNOTS``, the central 80% of the hit rate among ``GROUP`` new videos whose
    probability is known as if from ``evidence`` videos (a beta-binomial).

    The quantiles come from the whole probability table at once, as scipy's ``ppf`` defines
    them (the least count whose cumulative share reaches the level); ``betabinom.ppf``
    searches per knot and was most of a small training's blend."""
    from scipy.special import betaln, gammaln

    knots = np.array(KNOTS)[:, None]
    a, b = knots * evidence, (1 - knots) * evidence
    k = np.arange(GROUP + 1)[None, :]
    ways = gammaln(GROUP + 1) - gammaln(k + 1) - gammaln(GROUP - k + 1)
    cumulative = np.cumsum(np.exp(ways + betaln(k + a, GROUP - k + b) - betaln(a, b)), axis=1)
    tail = (1 - LEVEL) / 2
    low = (cumulative < tail).sum(axis=1) / GROUP
    high = np.minimum((cumulative < 1 - tail).sum(axis=1), GROUP) / GROUP
    return tuple(map(float, low)), tuple(map(float, high))
