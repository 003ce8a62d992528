"""The LightGBM parameters a params file may set, with their kinds and ranges.

Apart from the estimator, so that a params file is checked, and refused, before LightGBM
and the data are loaded (seconds of imports, minutes of reading).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, get_args, get_origin

from pydantic import Field, TypeAdapter, ValidationError

from likecast.echo import MAX_SHOWN_CHARS, capped, shown

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


# LightGBM's parameters are C ints: a larger whole number would wrap around inside it
INT32_MAX = 2**31 - 1
# likecast's own ceiling where LightGBM sets none (docs/adr/0004): far above any useful
# value, short of the ones that turn a model into a constant (lambda_l2 1e308 did)
LARGE = 1e6
OBJECTIVES = ("binary", "cross_entropy")  # the objectives whose output is a probability


def _whole(ge: int | None = None, gt: int | None = None, le: int = INT32_MAX) -> Any:
    return Annotated[int, Field(strict=True, ge=ge, gt=gt, le=le)]


def _number(ge: float | None = None, gt: float | None = None, le: float = LARGE) -> Any:
    return Annotated[float, Field(strict=True, allow_inf_nan=False, ge=ge, gt=gt, le=le)]


# Every parameter a --params file may set, with its kind and range: LightGBM's own
# constraints (docs/facts.md, "LightGBM's parameter ranges") and likecast's ceilings
# (docs/adr/0004). README, "The params file"; anything else is refused by name.
PARAM_SCHEMA: dict[str, Any] = {
    "objective": Literal["binary", "cross_entropy"],
    "learning_rate": _number(gt=0, le=1),
    "num_leaves": _whole(gt=1, le=131_072),
    "min_data_in_leaf": _whole(ge=0),
    "feature_fraction": _number(gt=0, le=1),
    "bagging_fraction": _number(gt=0, le=1),
    "bagging_freq": _whole(ge=0),
    "lambda_l2": _number(ge=0),
    "max_bin": _whole(gt=1, le=65_535),
    "max_cat_to_onehot": _whole(gt=0),
    "num_boost_round": _whole(ge=1),
    "early_stopping_rounds": _whole(ge=1),
    "lambda_l1": _number(ge=0),
    "max_depth": _whole(ge=-1, le=131_072),
    "min_gain_to_split": _number(ge=0),
    "min_sum_hessian_in_leaf": _number(ge=0),
    "path_smooth": _number(ge=0),
    "extra_trees": Annotated[bool, Field(strict=True)],
    "cat_smooth": _number(ge=0),
    "cat_l2": _number(ge=0),
    "max_cat_threshold": _whole(gt=0),
}
# what models/estimator.lgbm_params sets whatever a file says (refused in one)
SET_BY_LIKECAST = (
    "seed",
    "num_threads",
    "deterministic",
    "force_row_wise",
    "verbose",
    "monotone_constraints",
    "monotone_constraints_method",
)
# the parameters a file may set besides DEFAULT_PARAMS
MORE_PARAMS = tuple(key for key in PARAM_SCHEMA if key not in DEFAULT_PARAMS)
_CHECKS = {key: TypeAdapter(kind) for key, kind in PARAM_SCHEMA.items()}


def params_problems(overrides: Mapping[str, Any]) -> list[str]:
    """What is wrong with a set of overrides, one phrase per problem; empty when they are fine.

    A misspelt key would otherwise be passed on, ignored, and the model trained with the
    default it meant to replace; a value out of LightGBM's range would fail only after the
    data was read, or, past a C int, wrap around and train silently.
    """
    fixed = set(SET_BY_LIKECAST)
    problems = []
    unknown = sorted(overrides.keys() - PARAM_SCHEMA.keys() - fixed)
    if unknown:
        named, more = capped(unknown)
        rest = f" and {more:,} more" if more else ""
        problems.append(f"unknown LightGBM parameters {', '.join(map(_named, named))}{rest}")
    if set(overrides) & fixed:
        problems.append(
            f"set by likecast, not by --params: {', '.join(sorted(overrides.keys() & fixed))}"
        )
    for key, value in overrides.items():
        if key in _CHECKS:
            try:
                _CHECKS[key].validate_python(value)
            except ValidationError:
                problems.append(f"{key} must be {expected(key)}, got {shown(value)}")
    return problems


def _named(key: str) -> str:
    """A key as written when it reads as a name, else quoted and cut like any echoed value."""
    return key if key.isidentifier() and len(key) <= MAX_SHOWN_CHARS else shown(key)


def expected(key: str) -> str:
    """A parameter's kind and range in words: "a whole number > 1 and ≤ 131,072"."""
    kind = PARAM_SCHEMA[key]
    if get_origin(kind) is Literal:
        return f"one of {', '.join(get_args(kind))}"
    base, *metadata = get_args(kind)
    if base is bool:
        return "true or false"
    words = ["a whole number" if base is int else "a finite number"]
    for limit in (m for field in metadata for m in getattr(field, "metadata", [])):
        for attr, sign in (("gt", ">"), ("ge", "≥"), ("lt", "<"), ("le", "≤")):
            if hasattr(limit, attr):
                bound = getattr(limit, attr)
                words.append(f"{sign} {int(bound) if bound == int(bound) else bound:,}")
    return " and ".join([f"{words[0]} {words[1]}", *words[2:]]) if len(words) > 1 else words[0]
