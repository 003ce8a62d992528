"""The LightGBM estimator: defaults for tabular data of this size, monotone and deterministic."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.catalog import MONOTONE

DEFAULT_PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_bin": 255,
    "max_cat_to_onehot": 16,
    "num_boost_round": 600,
    "early_stopping_rounds": 50,
}


# LightGBM parameters a --params file may set besides DEFAULT_PARAMS, with their kinds
# (README, "The params file"); anything else is refused by name
MORE_PARAMS: dict[str, type] = {
    "lambda_l1": float,
    "max_depth": int,
    "min_gain_to_split": float,
    "min_sum_hessian_in_leaf": float,
    "path_smooth": float,
    "extra_trees": bool,
    "cat_smooth": float,
    "cat_l2": float,
    "max_cat_threshold": int,
}
OBJECTIVES = ("binary", "cross_entropy")  # the objectives whose output is a probability


def params_problems(overrides: Mapping[str, Any]) -> list[str]:
    """What is wrong with a set of overrides, one phrase per problem; empty when they are fine.

    A misspelt key would otherwise be passed on, ignored, and the model trained with the
    default it meant to replace.
    """
    kinds = {**{k: type(v) for k, v in DEFAULT_PARAMS.items()}, **MORE_PARAMS}
    fixed = lgbm_params({}, [], 0, 1).keys() - kinds.keys()
    problems = []
    unknown = sorted(overrides.keys() - kinds.keys() - fixed)
    if unknown:
        problems.append(f"unknown LightGBM parameters {', '.join(unknown)}")
    if set(overrides) & fixed:
        problems.append(
            f"set by likecast, not by --params: {', '.join(sorted(overrides.keys() & fixed))}"
        )
    for key, value in overrides.items():
        if key in kinds and not _is_kind(value, kinds[key]):
            problems.append(f"{key} must be {_KIND_WORDS[kinds[key]]}, got {value!r}")
    return problems


_KIND_WORDS = {
    int: "a whole number",
    float: "a finite number",
    bool: "true or false",
    str: f"one of {', '.join(OBJECTIVES)}",
}


def _is_kind(value: Any, kind: type) -> bool:
    """Whether a JSON value is of a parameter's kind (a JSON true is no number)."""
    if kind is bool or isinstance(value, bool):
        return kind is bool and isinstance(value, bool)
    if kind is int:
        return isinstance(value, int)
    if kind is float:
        return isinstance(value, int | float) and math.isfinite(value)
    return value in OBJECTIVES


def lgbm_params(overrides: dict[str, Any], features: list[str], seed: int, threads: int) -> dict:
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
