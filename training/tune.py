"""Hyperparameter search with Optuna; each trial is a nested MLflow run under one parent.

Trials are scored on the validation slice (the later part of the training period), never on
the test slice, so the test metrics of a later `likecast train --params best.json` stay honest.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mlflow
import optuna
from sklearn.metrics import log_loss, roc_auc_score

from features.loading import Dataset
from likecast.settings import Settings
from models.estimator import lgbm_params, train_booster
from models.mlflow_client import connect
from training.tracking import code_version, experiment_id
from training.train import prepare


def search_space(trial: optuna.Trial) -> dict[str, Any]:
    """The LightGBM parameters a trial draws, and their ranges."""
    return {
        "learning_rate": trial.suggest_float("learning_rate", 0.02, 0.2, log=True),
        "num_leaves": trial.suggest_int("num_leaves", 15, 255, log=True),
        "min_data_in_leaf": trial.suggest_int("min_data_in_leaf", 20, 500, log=True),
        "feature_fraction": trial.suggest_float("feature_fraction", 0.6, 1.0),
        "lambda_l2": trial.suggest_float("lambda_l2", 1e-3, 10.0, log=True),
    }


def tune(
    dataset: Dataset,
    settings: Settings,
    trials: int,
    experiment: str,
    on_trial: Callable[[int, float], None] = lambda _i, _loss: None,
) -> tuple[dict[str, Any], float, str]:
    """Returns the best parameters, their validation log loss, and the parent run id."""
    ex, spec, features = prepare(dataset, settings)
    train, valid = ex.part("train"), ex.part("valid")
    client = connect(settings)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    exp = experiment_id(client, experiment, settings)

    def objective(trial: optuna.Trial) -> float:
        overrides = search_space(trial)
        params = lgbm_params(overrides, list(spec.features), settings.seed, settings.lgbm_threads)
        with mlflow.start_run(experiment_id=exp, nested=True, run_name=f"trial-{trial.number}"):
            booster = train_booster(
                features[train], ex.y[train], features[valid], ex.y[valid], params
            )
            p = booster.predict(features[valid])
            loss = float(log_loss(ex.y[valid], p, labels=[0, 1]))
            mlflow.log_params(overrides)
            mlflow.log_metrics(
                {
                    "valid_log_loss": loss,
                    "valid_roc_auc": float(roc_auc_score(ex.y[valid], p)),
                    "best_iteration": float(booster.best_iteration),
                }
            )
        on_trial(trial.number, loss)
        return loss

    with mlflow.start_run(experiment_id=exp, run_name="tune") as parent:
        mlflow.set_tags({"code_version": code_version(), "likecast.kind": "tune"})
        study = optuna.create_study(
            direction="minimize", sampler=optuna.samplers.TPESampler(seed=settings.seed)
        )
        study.optimize(objective, n_trials=trials)
        mlflow.log_params({f"best_{k}": v for k, v in study.best_params.items()})
        mlflow.log_metric("best_valid_log_loss", study.best_value)
        mlflow.log_dict(study.best_params, "best_params.json")
    return study.best_params, study.best_value, parent.info.run_id
