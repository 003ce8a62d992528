"""Hostile params files: every value out of LightGBM's range and every unreadable file is
refused in one line naming the parameter, its value and its range, before any data is read."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from models.estimator import lgbm_params
from models.params import DEFAULT_PARAMS, PARAM_SCHEMA, SET_BY_LIKECAST, params_problems
from tests.helpers import Result

BIG = 10**30  # a JSON whole number past every C int


def _refused(result: Result, *named: str) -> None:
    assert result.code == 2, result.text
    assert "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1, result.err
    for words in named:
        assert words in result.text, result.text


def _train_with(cli, tmp_path: Path, content: str | bytes) -> Result:
    path = tmp_path / "params.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    # a data folder that is not there: a refusal of the params must come before it is read
    return cli("train", "--data", str(tmp_path / "no-data"), "--params", str(path))


@pytest.mark.parametrize(
    ("key", "value", "range_words"),
    [
        ("learning_rate", 0, "> 0 and ≤ 1"),
        ("learning_rate", -0.1, "> 0 and ≤ 1"),
        ("learning_rate", 1e300, "> 0 and ≤ 1"),
        ("num_leaves", 0, "> 1 and ≤ 131,072"),
        ("num_leaves", 1, "> 1 and ≤ 131,072"),
        ("num_leaves", BIG, "> 1 and ≤ 131,072"),
        ("num_boost_round", 0, "≥ 1 and ≤ 2,147,483,647"),
        ("num_boost_round", -5, "≥ 1 and ≤ 2,147,483,647"),
        ("early_stopping_rounds", 0, "≥ 1 and ≤ 2,147,483,647"),
        ("max_bin", 1, "> 1 and ≤ 65,535"),
        ("max_bin", 2**31, "> 1 and ≤ 65,535"),
        ("feature_fraction", 0, "> 0 and ≤ 1"),
        ("feature_fraction", 1.5, "> 0 and ≤ 1"),
        ("bagging_fraction", -0.1, "> 0 and ≤ 1"),
        ("bagging_freq", -1, "≥ 0 and ≤ 2,147,483,647"),
        ("lambda_l1", -1.0, "≥ 0 and ≤ 1,000,000"),
        ("lambda_l2", -0.5, "≥ 0 and ≤ 1,000,000"),
        ("lambda_l2", 1e308, "≥ 0 and ≤ 1,000,000"),
        ("min_data_in_leaf", -1, "≥ 0 and ≤ 2,147,483,647"),
        ("min_sum_hessian_in_leaf", -1e-3, "≥ 0 and ≤ 1,000,000"),
        ("min_gain_to_split", -2, "≥ 0 and ≤ 1,000,000"),
        ("max_depth", 10**20, "≥ -1 and ≤ 131,072"),
        ("max_depth", -2, "≥ -1 and ≤ 131,072"),
        ("max_cat_to_onehot", 0, "> 0 and ≤ 2,147,483,647"),
        ("max_cat_threshold", 0, "> 0 and ≤ 2,147,483,647"),
        ("path_smooth", -1, "≥ 0 and ≤ 1,000,000"),
        ("cat_smooth", -1, "≥ 0 and ≤ 1,000,000"),
        ("cat_l2", 1e12, "≥ 0 and ≤ 1,000,000"),
    ],
)
def test_a_value_out_of_range_is_refused_before_the_data_is_read(
    key: str, value: Any, range_words: str, tmp_path: Path, cli
) -> None:
    # given a params file with one value of the right kind but out of LightGBM's range
    # when training is asked to use it, with a data folder that is not there
    result = _train_with(cli, tmp_path, json.dumps({key: value}))
    # then one line names the parameter, the value and the range, and not the data
    _refused(result, f"{key} must be a", range_words, f"got {value!r}")
    assert "no-data" not in result.text


def test_values_at_the_edges_of_every_range_are_accepted() -> None:
    # given the smallest and largest accepted value of each ranged parameter
    edges: list[dict[str, Any]] = [
        {"learning_rate": 1, "num_leaves": 2, "max_bin": 2, "num_boost_round": 1},
        {"num_leaves": 131_072, "max_bin": 65_535, "max_depth": -1, "lambda_l2": 1e6},
        {"feature_fraction": 1.0, "bagging_fraction": 1e-9, "min_data_in_leaf": 0},
        {"bagging_freq": 0, "max_depth": 131_072, "early_stopping_rounds": 2**31 - 1},
    ]
    # when they are checked
    # then none is refused
    for overrides in edges:
        assert params_problems(overrides) == [], overrides


def test_the_parameters_likecast_sets_are_the_ones_a_file_may_not() -> None:
    # given the full parameter set of a training run
    full = lgbm_params({}, [], 0, 1)
    # then it is the defaults and exactly the keys a params file is refused
    assert full.keys() == DEFAULT_PARAMS.keys() | set(SET_BY_LIKECAST)


def test_every_accepted_parameter_has_a_range_or_a_closed_set() -> None:
    # given the schema of a params file
    for key in PARAM_SCHEMA:
        # when its widest wrong values are checked
        problems = params_problems({key: float("inf")}) + params_problems({key: BIG})
        # then both are refused: nothing is open-ended
        assert len(problems) == 2, (key, problems)


@pytest.mark.parametrize(
    ("content", "named"),
    [
        ('{"num_leaves": 31}'.encode("utf-16"), "not UTF-8"),
        ('{"num_leaves": 31, "café": 1}'.encode("latin-1"), "not UTF-8"),
        ("[" * 20_000 + "]" * 20_000, "nested too deeply"),
        ("[" * 100_000 + "]" * 100_000, "larger than 64 KB"),
        (json.dumps({"objective": "x" * 1_000_000}), "larger than 64 KB"),
        ('{"num_leaves": 31, "num_leaves": 63}', "'num_leaves' given twice"),
        ('{"num_leaves": ' + "9" * 5000 + "}", "a whole number of 5,000 digits"),
        ('{"lambda_l2": NaN}', "lambda_l2 must be a finite number"),
        ('{"lambda_l2": Infinity}', "lambda_l2 must be a finite number"),
        ('{"likes": true}', "unknown LightGBM parameters likes"),
        ("[1, 2]", "expected a JSON object"),
        ("", "cannot read LightGBM parameters as JSON"),
    ],
)
def test_an_unreadable_params_file_is_refused_in_one_line(
    content: str | bytes, named: str, tmp_path: Path, cli
) -> None:
    # given a params file in another encoding, nested, huge, repeated or not an object
    # when training is asked to use it
    result = _train_with(cli, tmp_path, content)
    # then one line says what is wrong with the file
    _refused(result, named, "params.json")


@pytest.mark.parametrize("path", ["/dev/zero", "/tmp", "/nonexistent/params.json"])
def test_a_params_path_that_is_no_file_is_refused_in_one_line(path: str, cli) -> None:
    # given a params path that is endless, a folder or missing
    # when training is asked to use it
    result = cli("train", "--data", "/nonexistent", "--params", path)
    # then one line names it, after reading at most a bounded number of bytes
    _refused(result, path)


def test_a_long_value_is_refused_and_shown_cut(tmp_path: Path, cli) -> None:
    # given a params file whose one value is 60,000 characters (just under the size limit)
    content = json.dumps({"objective": "x" * 60_000, "n" * 60: 1})
    # when training is asked to use it
    result = _train_with(cli, tmp_path, content)
    # then it is refused, the value cut to a recognisable start and its length
    _refused(result, "objective must be one of binary, cross_entropy", "(60,000 characters)")
    assert len(result.err) < 600


def test_thousands_of_unknown_keys_are_named_capped(tmp_path: Path, cli) -> None:
    # given a params file of 3,000 unknown keys
    content = json.dumps({f"key{i}": 1 for i in range(3000)})
    # when training is asked to use it
    result = _train_with(cli, tmp_path, content)
    # then one short line names the first 20 and counts the rest
    _refused(result, "unknown LightGBM parameters key0, key1", "and 2,980 more")
    assert len(result.err) < 1000, len(result.err)
