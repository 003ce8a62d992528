"""The logistic baseline: the signs it keeps, its JSON, and rows it has never seen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.estimator import to_matrix
from models.logistic import LogisticBaseline, fit_logistic, predict_proba


def _frame(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """Videos whose hits have more likes, except that ``views_log`` is against them."""
    rng = np.random.default_rng(seed)
    likes, views = rng.normal(size=n), rng.normal(size=n)
    y = (likes - 2 * views + rng.normal(size=n) > 0).astype(float)
    frame = pd.DataFrame(
        {
            "likes_log": likes,
            "views_log": views,
            "caption_len": np.where(rng.random(n) < 0.3, np.nan, rng.random(n)),
            "category": pd.Categorical(rng.choice(["a", "b"], n), categories=["a", "b"]),
        }
    )
    return frame, y


def test_a_monotone_feature_keeps_its_sign_against_the_data() -> None:
    # given data where more views (declared never to lower the answer) go with fewer hits
    frame, y = _frame(5_000)
    # when the baseline is fitted
    model = fit_logistic(frame, y, n_categories=2, seed=1)
    # then views get no negative weight, likes a positive one, and more views never lower it
    views, likes = model.numeric.index(1), model.numeric.index(0)
    assert model.coef[views] == pytest.approx(0.0, abs=1e-8)
    assert model.coef[likes] > 0.5
    more_views = frame.assign(views_log=frame["views_log"] + 1.0)
    assert (model.log_odds(to_matrix(more_views)) >= model.log_odds(to_matrix(frame)) - 1e-9).all()


def test_it_answers_the_same_after_a_json_round_trip() -> None:
    # given a fitted baseline
    frame, y = _frame(2_000)
    model = fit_logistic(frame, y, n_categories=2, seed=1)
    # when it is saved and read back
    again = LogisticBaseline.from_dict(model.to_dict())
    # then it answers exactly as before
    matrix = to_matrix(frame)
    assert np.array_equal(again.log_odds(matrix), model.log_odds(matrix))


@pytest.mark.parametrize("missing", ["category", "caption_len", "every column"])
def test_rows_with_missing_values_still_get_a_probability(missing: str) -> None:
    # given a fitted baseline and rows with a missing value
    frame, y = _frame(2_000)
    model = fit_logistic(frame, y, n_categories=2, seed=1)
    matrix = to_matrix(frame.head(20))
    if missing == "every column":
        matrix[:] = np.nan
    else:
        matrix[:, list(frame.columns).index(missing)] = np.nan
    # when scored, then each row gets a probability strictly inside (0, 1)
    p = predict_proba(model, matrix)
    assert np.isfinite(p).all()
    assert ((p > 0) & (p < 1)).all()


def test_its_answers_on_the_rows_it_was_fitted_on_average_to_their_hit_rate() -> None:
    # given a baseline fitted on fewer rows than its sample cap
    frame, y = _frame(3_000)
    model = fit_logistic(frame, y, n_categories=2, seed=1)
    # when it answers those rows, then its mean answer is their hit rate (a fitted logistic
    # regression with a free intercept matches the labels' sum)
    assert predict_proba(model, to_matrix(frame)).mean() == pytest.approx(y.mean(), abs=1e-4)


@pytest.mark.parametrize("blank", [0.0, 0.3, 1.0])
def test_one_rows_log_odds_are_the_matrixs_to_the_bit(blank: float) -> None:
    # given a fitted baseline and rows with none, some or all of their values blank
    frame, y = _frame(2_000)
    model = fit_logistic(frame, y, n_categories=2, seed=1)
    matrix = to_matrix(frame.head(300))
    matrix[np.random.default_rng(3).random(matrix.shape) < blank] = np.nan
    # when each row is scored alone (a served draft's path) and all as a matrix
    alone = [model.log_odds_of_row(row) for row in matrix]
    together = model.log_odds(matrix)
    # then the floats are the same
    assert alone == together.tolist()
