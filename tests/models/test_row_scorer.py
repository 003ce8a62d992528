"""LightGBM's single-row C API gives what the batch path gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.matrix import build_features
from models.bundle import ModelBundle
from models.estimator import to_matrix


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
