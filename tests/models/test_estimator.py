"""The estimator's parameters: the catalogue's monotone signs, determinism not negotiable."""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.catalog import FEATURES, MONOTONE
from features.matrix import build_features
from models.estimator import lgbm_params
from training.train import TrainOutcome


def test_monotone_constraints_follow_the_catalogue_in_the_matrix_order() -> None:
    features = list(reversed(FEATURES))
    params = lgbm_params(
        {"monotone_constraints": [], "seed": 1, "deterministic": False}, features, 7, 2
    )
    assert params["monotone_constraints"] == [MONOTONE[name] for name in features]
    assert (params["seed"], params["num_threads"], params["deterministic"]) == (7, 2, True)


def test_native_matrix_path_equals_lightgbm_dataframe_path(
    trained: TrainOutcome, early_rows: pd.DataFrame
) -> None:
    features = build_features(early_rows, trained.bundle.spec)
    ours = trained.bundle.raw_score(features)
    theirs = trained.bundle.booster.predict(features, raw_score=True)
    np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-12)
