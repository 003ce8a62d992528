"""The Dask trainer's stand-in for early stopping, on a local booster (no cluster needed)."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from models.estimator import to_matrix
from training.distributed import best_round
from training.train import TrainOutcome


@pytest.mark.slow
def test_best_round_is_the_round_with_the_lowest_validation_log_loss(
    trained: TrainOutcome,
) -> None:
    # given a copy of the session's booster and labeled rows it did not train on (a copy:
    # predicting one round at a time moves the range of trees that the booster's single-row
    # path, models/row_scorer.py, answers with, until its next full predict)
    booster = lgb.Booster(model_str=trained.bundle.booster.model_to_string())
    x, y = trained.test_features, trained.test_predictions["y"]
    # when the best round is found one tree at a time
    best = best_round(booster, x, y)
    # then it is the round whose full prediction has the lowest log loss
    matrix = to_matrix(x)
    losses = []
    for rounds in range(1, booster.current_iteration() + 1):
        p = np.clip(booster.predict(matrix, num_iteration=rounds), 1e-15, 1 - 1e-15)
        losses.append(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert best == int(np.argmin(losses)) + 1
    assert 1 <= best <= booster.current_iteration()
