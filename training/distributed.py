"""Training on a Dask cluster with ``lightgbm.dask.DaskLGBMClassifier``.

It replaces only the booster step of ``training.train.fit``: examples, features, the split,
calibration, baselines, evaluation and MLflow logging are the local path's, so a model
trained here is registered and served exactly like a local one (``to_local()`` turns it into
a plain booster).

LightGBM's Dask interface has no early stopping (microsoft/LightGBM#3712) and returned no
evaluation history here, so it trains the full number of rounds, scores the validation slice
tree by tree on the client, and keeps the trees up to the round with the lowest log loss:
the model size local early stopping would pick, without its saving of time.
Known pitfalls guarded here: a worker without a partition fails training
(microsoft/LightGBM#3882), so there are exactly as many non-empty partitions as workers;
ports collided on repeated runs (#3753), so each run lets LightGBM pick free ports.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from likecast.errors import UserError

Trainer = Callable[[pd.DataFrame, np.ndarray, pd.DataFrame, np.ndarray, dict], lgb.Booster]


def dask_trainer(client: Any) -> Trainer:
    """A booster step for ``fit`` that trains on the cluster ``client`` is connected to."""

    def train(
        x_train: pd.DataFrame,
        y_train: np.ndarray,
        x_valid: pd.DataFrame,
        y_valid: np.ndarray,
        params: dict[str, Any],
    ) -> lgb.Booster:
        import dask.dataframe as dd
        from lightgbm.dask import DaskLGBMClassifier

        workers = len(client.scheduler_info()["workers"])
        if workers == 0:
            raise UserError("the Dask cluster has no workers")
        parts = max(1, min(workers, len(x_train) // 1000))  # never an empty partition
        x = dd.from_pandas(x_train.reset_index(drop=True), npartitions=parts, sort=False)
        y = dd.from_pandas(pd.Series(y_train, name="y"), npartitions=parts, sort=False)
        settings = dict(params)
        rounds = int(settings.pop("num_boost_round"))
        settings.pop("early_stopping_rounds", None)
        model = DaskLGBMClassifier(client=client, n_estimators=rounds, **settings)
        model.fit(x, y, categorical_feature=["category"])
        booster = model.to_local().booster_
        best = best_round(booster, x_valid, y_valid)
        kept = lgb.Booster(model_str=booster.model_to_string(num_iteration=best))
        kept.best_iteration = best
        return kept

    return train


def best_round(booster: lgb.Booster, x_valid: pd.DataFrame, y_valid: np.ndarray) -> int:
    """The round with the lowest validation log loss, from one tree's scores at a time."""
    from models.estimator import to_matrix

    matrix = to_matrix(x_valid)
    raw = np.zeros(len(matrix))
    losses = []
    for tree in range(booster.current_iteration()):
        raw += booster.predict(matrix, start_iteration=tree, num_iteration=1, raw_score=True)
        # log loss from raw scores: log(1 + e^-z) for positives, log(1 + e^z) for negatives
        losses.append(float(np.mean(np.logaddexp(0.0, np.where(y_valid == 1, -raw, raw)))))
    return int(np.argmin(losses)) + 1


@contextmanager
def cluster(scheduler: str | None, workers: int | None) -> Iterator[object]:
    """A client on the given scheduler, or on a LocalCluster sized to this machine."""
    from dask.distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="20s") as client:
            yield client
        return
    n = workers or os.cpu_count() or 1
    with (
        LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            host="127.0.0.1",
        ) as local,
        Client(local) as client,
    ):
        yield client
