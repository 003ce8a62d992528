"""One draft answered alone: its answer as plain floats from tables worked out once per model.

Why it exists: a request is one row, and the batch path (``serving.core.answering``,
``models.bundle.answer_matrix``) runs a few hundred numpy calls on one-element arrays for
it, each costing more than its arithmetic (docs/adr/0045). For a plain draft most of that
work has a known outcome: no counts, so nothing is decided; age 0, a trained age, so no
placing between ages; one age, so one row of the blend's weights and one age's interval
bins. This module keeps those per model and answers with a handful of float operations.

How parity is guaranteed: nothing is defined twice where it could drift apart.
- The row is the batch path's row (``serving.core.building``, ``features.matrix``): the
  catalogue's transforms give every feature.
- LightGBM's log-odds come from the same trees through ``models.row_scorer`` (as the batch
  path's one-row call does); the logistic baseline's from
  ``LogisticBaseline.log_odds_of_row``, tested against its ``log_odds``.
- The blend reads the bundle's own ``Blend`` (its weights, intercept, prior and interval
  bins at the row's age) and does the batch path's operations in the same order (a sum of
  three products left to right, ``expit``, the ``EPS`` bounds, ``np.interp``), so the
  floats are the same to the bit.
- The answer is assembled by ``serving.core.answering.Facts`` and checked by the same
  pydantic model as every other answer.
tests/serving/test_one_row_parity.py answers many varied requests alone and among others
and requires equal answers. What this path does not take goes the batch path: an early
request (its counts may decide it, its age may lie between trained ones, its interval may
blend two ages), an explanation (its factors need LightGBM's SHAP values of the row), a
bundle saved before the blend (its calibrator is another kind), and a draft whose row is not
at the blend's first age.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.special import expit

from features.ages import answering_ages
from features.catalog import Language
from features.spec import grid_index
from models.blend import EPS, INPUTS, KNOTS, Blend
from models.bundle import ModelBundle
from serving.core.answering import READ, Facts, Said, edges
from serving.core.answers import Prediction
from serving.core.building import Built
from serving.core.reliability import reliabilities
from serving.core.requests import Draft, Early

DRAFT_AGE = 0.0  # a draft is asked about at posting


@dataclass(frozen=True)
class _AtAge:
    """The blend at one age: its weights (``INPUTS`` order), intercept and interval bins."""

    weights: tuple[float, ...]
    intercept: float
    low: np.ndarray  # at ``models.blend.KNOTS``
    high: np.ndarray


class OneRow:
    """A model's one-row answers to plain drafts, with its tables worked out once."""

    def __init__(
        self,
        bundle: ModelBundle,
        blend: Blend,
        version: str,
        reliability: dict[Language, dict[float, dict[str, Any]]],
        history_window: int,
    ) -> None:
        self.bundle, self.blend = bundle, blend
        self.spec = bundle.spec
        self.scorer = bundle.row_scorer()  # the bundle's own: one copy of the booster
        self.version = version
        self.history_window = history_window
        self.age_at = self.spec.positions["age_minutes"]
        # the early-count rule of a row without a count: the prior's log-odds
        # (models.baselines.szabo_huberman_log_odds, computed there the same way)
        self.prior_log_odds = np.log(blend.prior / (1 - blend.prior))
        self.knots = np.array(KNOTS)
        at = blend.ages[int(grid_index(np.array([DRAFT_AGE]), _ages(blend))[0])]
        self.at_draft = _AtAge(at.weights, at.intercept, np.array(at.low), np.array(at.high))
        # a draft's reliability in each language: its age's bucket, never settled
        self.reliability = {
            language: reliabilities(table, np.array([DRAFT_AGE]), np.zeros(1, bool), language)[0]
            for language, table in reliability.items()
        }
        self.facts = {
            language: Facts(bundle, version, history_window, language) for language in reliability
        }

    @staticmethod
    def of(
        bundle: ModelBundle,
        version: str,
        reliability: dict[Language, dict[float, dict[str, Any]]],
        history_window: int,
    ) -> OneRow | None:
        """The one-row path of ``bundle``; None for a bundle saved before the blend, or
        one whose ages do not start at posting (its drafts are answered between ages)."""
        blend = bundle.calibrator
        if not isinstance(blend, Blend):
            return None
        grid = answering_ages(bundle.spec.ages, bundle.spec.horizon_minutes)
        if grid[0] != DRAFT_AGE or _ages(blend)[0] != DRAFT_AGE:
            return None
        return OneRow(bundle, blend, version, reliability, history_window)

    @staticmethod
    def takes(request: Draft) -> bool:
        """Whether this path answers ``request``: a draft that asks for no explanation."""
        return not isinstance(request, Early) and not request.explain

    def answer(self, built: Built, language: Language) -> Prediction | None:
        """The answer to ``built``'s one draft; None when its row is not at posting's age
        (the batch path answers it)."""
        said = self.said(built)
        if said is None:
            return None
        rows = built.rows
        return Prediction.model_validate(
            self.facts[language].answer(
                {name: rows.arrays[name].tolist()[0] for name in READ},
                built.sources[0],
                [
                    *(warning[language] for warning in built.warnings[0]),
                    *edges(rows.matrix[0], rows.outside[0], self.spec, language),
                ],
                said,
                None,
                self.reliability[language],
            )
        )

    def said(self, built: Built) -> Said | None:
        """The model's probability and interval of ``built``'s one draft, unrounded (the
        batch path's ``ModelBundle.answer_matrix``, to the bit); None when its row is not at
        posting's age."""
        row = built.rows.matrix[0]
        if row[self.age_at] != DRAFT_AGE or built.rows.arrays["age_minutes"][0] != DRAFT_AGE:
            return None
        at = self.at_draft
        # models.blend.Blend.probability, one row: the same products, summed left to right
        # as numpy sums a row of three
        inputs = {
            "lightgbm": self.scorer.log_odds(row),
            "szabo_huberman": self.prior_log_odds,
            "logistic": self.blend.logistic.log_odds_of_row(row),
        }
        z = sum(inputs[name] * w for name, w in zip(INPUTS, at.weights, strict=True))
        z += at.intercept
        p = float(min(max(expit(z), EPS), 1 - EPS))
        # models.blend.Blend.interval, one row
        low = min(float(np.interp(p, self.knots, at.low)), p)
        high = max(float(np.interp(p, self.knots, at.high)), p)
        return Said(p, low, high, reached=False, decided=False)  # no counts: nothing settled


def _ages(blend: Blend) -> np.ndarray:
    """The ages the blend was fitted at, in order (``Blend._which``'s grid)."""
    return np.array([a.age for a in blend.ages])
