"""LightGBM's single-row C API gives what the batch path gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.matrix import build_features
from models.bundle import ModelBundle
from models.estimator import to_matrix
from models.row_scorer import RowScorer


@pytest.mark.parametrize("best_iteration", [None, 30])
def test_one_row_at_a_time_equals_the_batch_path(
    bundle_dir: Path, early_rows: pd.DataFrame, best_iteration: int | None
) -> None:
    # given a bundle as loaded from its files, or as early stopping leaves one (trees past
    # the best round kept, predictions use the trees up to it)
    bundle = ModelBundle.load(bundle_dir)
    if best_iteration is not None:
        bundle.booster.best_iteration = best_iteration
    matrix = to_matrix(build_features(early_rows.head(40), bundle.spec))
    # when each row is predicted alone (the single-row C API) and all together
    alone = np.concatenate([bundle.predict_matrix(matrix[i : i + 1]) for i in range(40)])
    together = bundle.predict_matrix(matrix)
    # then the probabilities agree
    np.testing.assert_allclose(alone, together, rtol=0, atol=1e-12)


def test_another_prediction_on_the_booster_does_not_change_a_rows_score(
    bundle_dir: Path, early_rows: pd.DataFrame
) -> None:
    # given a row scorer over a bundle's booster, and a row's score
    bundle = ModelBundle.load(bundle_dir)
    scorer = RowScorer(bundle.booster)
    row = to_matrix(build_features(early_rows.head(1), bundle.spec))[0]
    before = scorer.log_odds(row)
    # when something else predicts on the same booster with one tree only
    bundle.booster.predict(row[None, :], num_iteration=1, raw_score=True)
    # then the row scores as it did: LightGBM keeps the last prediction's tree range in the
    # booster, and the scorer must not inherit it
    assert scorer.log_odds(row) == before
