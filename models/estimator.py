"""The LightGBM estimator: defaults for tabular data of this size, monotone and deterministic."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalog import MONOTONE
from models.params import DEFAULT_PARAMS


def lgbm_params(
    overrides: dict[str, Any], features: list[str], seed: int, threads: int
) -> dict[str, Any]:
    """Full parameter set; determinism and monotonicity are not negotiable overrides."""
    params = {**DEFAULT_PARAMS, **overrides}
    params.update(
        seed=seed,
        num_threads=threads,
        deterministic=True,
        force_row_wise=True,
        verbose=-1,
        monotone_constraints=[MONOTONE.get(name, 0) for name in features],
        # "advanced" broke the constraints on our data (LightGBM 4.7: raw scores fell when
        # likes rose); "basic" kept them and scored best, see tests/models/test_behaviour.py
        monotone_constraints_method="basic",
    )
    return params


def train_booster(
    x_train: pd.DataFrame,
    y_train: np.ndarray,
    x_valid: pd.DataFrame,
    y_valid: np.ndarray,
    params: dict[str, Any],
    on_iteration: Any = None,
) -> lgb.Booster:
    """Train with early stopping on a later slice of the training period."""
    params = dict(params)
    rounds = int(params.pop("num_boost_round"))
    patience = int(params.pop("early_stopping_rounds"))
    train = lgb.Dataset(
        x_train, label=y_train, categorical_feature=["category"], free_raw_data=True
    )
    valid = lgb.Dataset(x_valid, label=y_valid, reference=train)
    callbacks: list[Callable[..., Any]] = [lgb.early_stopping(patience, verbose=False)]
    if on_iteration is not None:
        callbacks.append(on_iteration)
    return lgb.train(params, train, rounds, valid_sets=[valid], callbacks=callbacks)


def to_matrix(features: pd.DataFrame) -> np.ndarray:
    """Features as the float matrix LightGBM predicts on: categories as their codes.

    Cheaper than handing LightGBM a DataFrame on every request; a test checks both agree.
    """
    matrix = np.empty(features.shape, dtype="float64", order="F")
    for j, name in enumerate(features.columns):
        column = features[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            codes = column.cat.codes.to_numpy()
            matrix[:, j] = np.where(codes >= 0, codes, np.nan)
        else:
            matrix[:, j] = column.to_numpy(dtype="float64", na_value=np.nan)
    return matrix
