"""Training on a Dask cluster with ``lightgbm.dask.DaskLGBMClassifier``.

It is the booster step of ``training.partitioned``, which builds the examples and features
partition by partition on the same cluster; calibration, baselines, evaluation and MLflow
logging are the local path's, so a model trained here is registered and served exactly like
a local one (``to_local()`` turns it into a plain booster).

LightGBM's Dask interface has no early stopping (microsoft/LightGBM#3712) and returned no
evaluation history here, so it trains the full number of rounds, scores the validation slice
tree by tree on the client, and keeps the trees up to the round with the lowest log loss:
the model size local early stopping would pick, without its saving of time.
Known pitfalls guarded here: a worker without a partition fails training
(microsoft/LightGBM#3882), so partitions without rows are left out;
ports collided on repeated runs (#3753), so each run lets LightGBM pick free ports.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from likecast.errors import UserError


def dask_trainer(client: Any, negative_rate: float = 1.0) -> Callable[..., lgb.Booster]:
    """A booster step for ``fit_set`` that trains on the cluster ``client`` is connected to,
    on Dask collections (the partitions' rows stay on the workers).

    When negatives were kept at ``negative_rate``, the booster's odds are 1/rate too high:
    the best round is judged on the corrected log-odds (logit p = logit q + log rate), and
    the blend, fitted on the calib slice's true rate, calibrates the answers after it.
    """

    def train(
        x_train: Any,
        y_train: Any,
        x_valid: pd.DataFrame,
        y_valid: np.ndarray,
        params: dict[str, Any],
    ) -> lgb.Booster:
        from lightgbm.dask import DaskLGBMClassifier

        if not client.scheduler_info()["workers"]:
            raise UserError("the Dask cluster has no workers")
        settings = dict(params)
        rounds = int(settings.pop("num_boost_round"))
        settings.pop("early_stopping_rounds", None)
        settings.pop("num_threads", None)  # each worker's threads are its own (--nthreads)
        model = DaskLGBMClassifier(client=client, n_estimators=rounds, **settings)
        with warnings.catch_warnings():  # n_jobs, which the sklearn face always sets
            warnings.filterwarnings("ignore", "Parameter n_jobs will be ignored")
            model.fit(x_train, y_train, categorical_feature=["category"])
        booster = model.to_local().booster_
        best = best_round(booster, x_valid, y_valid, np.log(negative_rate))
        kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        kept.best_iteration = best
        return kept

    return train


def best_round(
    booster: lgb.Booster, x_valid: pd.DataFrame, y_valid: np.ndarray, shift: float = 0.0
) -> int:
    """The round with the lowest validation log loss, from one tree's scores at a time;
    ``shift`` is added to the booster's log-odds first."""
    from models.estimator import to_matrix

    matrix = to_matrix(x_valid)
    raw = np.full(len(matrix), shift)
    losses = []
    for tree in range(booster.current_iteration()):
        raw += booster.predict(matrix, start_iteration=tree, num_iteration=1, raw_score=True)
        # log loss from raw scores: log(1 + e^-z) for positives, log(1 + e^z) for negatives
        losses.append(float(np.mean(np.logaddexp(0.0, np.where(y_valid == 1, -raw, raw)))))
    return int(np.argmin(losses)) + 1
