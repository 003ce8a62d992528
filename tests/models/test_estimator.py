"""The estimator's parameters: the catalogue's monotone signs, determinism not negotiable."""

from __future__ import annotations

from features.catalog import FEATURES, MONOTONE
from models.estimator import lgbm_params


def test_monotone_constraints_follow_the_catalogue_in_the_matrix_order() -> None:
    features = list(reversed(FEATURES))
    params = lgbm_params(
        {"monotone_constraints": [], "seed": 1, "deterministic": False}, features, 7, 2
    )
    assert params["monotone_constraints"] == [MONOTONE[name] for name in features]
    assert (params["seed"], params["num_threads"], params["deterministic"]) == (7, 2, True)
