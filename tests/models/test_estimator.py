"""The estimator's parameters: the catalogue's monotone signs, determinism not negotiable."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from features.catalog import FEATURES, MONOTONE
from features.matrix import build_features
from models.estimator import lgbm_params
from models.params import DEFAULT_PARAMS, MORE_PARAMS, params_problems
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


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        ({"num_leaves": 31, "learning_rate": 0.1, "lambda_l1": 0.5, "extra_trees": True}, None),
        ({"objective": "cross_entropy", "max_depth": 8}, None),
        (
            {"n_estimators": 100, "num_leaf": 31},
            "unknown LightGBM parameters n_estimators, num_leaf",
        ),
        ({"seed": 3}, "set by likecast, not by --params: seed"),
        ({"num_leaves": "63"}, "num_leaves must be a whole number > 1 and ≤ 131,072, got '63'"),
        (
            {"num_boost_round": 100.5},
            "num_boost_round must be a whole number ≥ 1 and ≤ 2,147,483,647, got 100.5",
        ),
        (
            {"learning_rate": "fast"},
            "learning_rate must be a finite number > 0 and ≤ 1, got 'fast'",
        ),
        (
            {"lambda_l2": float("nan")},
            "lambda_l2 must be a finite number ≥ 0 and ≤ 1,000,000, got nan",
        ),
        (
            {"bagging_freq": True},
            "bagging_freq must be a whole number ≥ 0 and ≤ 2,147,483,647, got True",
        ),
        ({"extra_trees": 1}, "extra_trees must be true or false, got 1"),
        ({"objective": "regression"}, "objective must be one of binary, cross_entropy"),
    ],
)
def test_overrides_are_refused_by_name_when_unknown_or_of_the_wrong_kind(
    overrides: dict, problem: str | None
) -> None:
    # given a --params file's overrides
    # when they are checked
    problems = params_problems(overrides)
    # then a good set passes, and each wrong key or value is named
    if problem is None:
        assert problems == []
    else:
        assert any(found.startswith(problem) for found in problems), problems


def test_the_readme_lists_every_parameter_a_params_file_may_set() -> None:
    # given the README's section on the params file
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    section = readme.split("## The params file", 1)[1].split("\n## ", 1)[0]
    # then it lists every default with its value, and every other accepted parameter
    for key, value in DEFAULT_PARAMS.items():
        assert re.search(rf"\| `{key}` \| `{value}` \|", section), key
    for key in MORE_PARAMS:
        assert f"`{key}`" in section, key
