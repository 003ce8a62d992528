"""Training, from a validated data set to a calibrated, evaluated model bundle.

MLflow is kept out of this module on purpose: it returns everything a run should record, and
``training.tracking`` records it. That keeps training testable and the run's content explicit.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.examples import Grid, grid_examples, video_rows
from features.labels import known_outcome, label_videos
from features.loading import Dataset
from features.matrix import build_grid_features
from features.spec import SPEC_COLUMNS, FeatureSpec, fit_spec
from likecast.settings import Settings
from models.baselines import (
    creator_hit_rate,
    fit_logistic,
    predict_logistic,
    szabo_huberman,
)
from models.bundle import ModelBundle
from models.calibration import Calibrator, choose_calibrator
from models.estimator import lgbm_params, train_booster
from models.explain import typical_values
from training.metrics import age_bucket, flatten, score, score_by_age
from training.split import Split, split_by_time

# a linear baseline of 28 features: test AUC 0.9698 fitted on 20k rows, 0.9702 on 50k (twice
# the time; 1M examples)
LOGISTIC_MAX_ROWS = 20_000
BASELINES = ("szabo_huberman", "logistic", "creator_hit_rate")


class StageClock:
    """Wraps a progress callback and records how long each named stage took.

    The durations go into the run's metrics (``seconds_<stage>``), so where training time
    goes is visible per run, not only in benchmarks.
    """

    def __init__(self, advance: Callable[[str], None]) -> None:
        self._advance = advance
        self._stage: str | None = None
        self._started = 0.0
        self.seconds: dict[str, float] = {}

    def advance(self, stage: str) -> None:
        self._close()
        self._stage, self._started = stage, time.perf_counter()
        self._advance(stage)

    def _close(self) -> None:
        if self._stage is not None:
            key = self._stage.replace(" ", "_")
            self.seconds[key] = round(time.perf_counter() - self._started, 3)

    def finish(self) -> dict[str, float]:
        self._close()
        self._stage = None
        return self.seconds


@dataclass
class Examples:
    """Every labeled video at every grid age, with labels and slices.

    ``open`` marks the examples whose outcome the counts do not settle yet (below the
    threshold, before the horizon): the only ones the model is trained on and judged by,
    since every answer for the others comes from the counts (``known_outcome``).
    """

    grid: Grid
    y: np.ndarray
    likes_at_horizon: pd.Series
    slice: np.ndarray  # slice name per row
    split: Split
    open: np.ndarray

    def part(self, name: str) -> np.ndarray:
        """The open examples of one slice (train, valid, calib or test)."""
        return (self.slice == name) & self.open


@dataclass
class TrainOutcome:
    bundle: ModelBundle
    params: dict[str, Any]
    tables: dict[str, pd.DataFrame]  # model name -> metrics by age bucket, on test
    metrics: dict[str, float]
    test_rows: pd.DataFrame  # raw rows + label, for promotion and plots
    test_predictions: dict[str, np.ndarray]
    test_features: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


def build_examples(
    dataset: Dataset,
    settings: Settings,
    threshold: int,
    horizon_minutes: float,
    advance: Callable[[str], None],
) -> Examples:
    advance("labels")
    labels = label_videos(dataset.videos, dataset.snapshots, threshold, horizon_minutes)
    advance("creator history")
    per_video = video_rows(
        dataset.videos, labels, threshold, horizon_minutes, settings.history_window
    )
    labeled = labels["labeled"].to_numpy()
    split = split_by_time(
        pd.DataFrame(
            {
                "video_id": dataset.videos["video_id"][labeled],
                "posted_at": dataset.videos["posted_at"][labeled],
                "label": labels["label"][labeled],
            }
        )
    )
    advance("examples")
    ages = settings.training_ages
    grid = grid_examples(
        per_video[labeled], dataset.snapshots, ages, horizon_minutes, settings.feature_threads
    )
    repeat = np.repeat(np.flatnonzero(labeled), len(ages))
    _, decided = known_outcome(
        grid.observed["likes"].to_numpy(),
        grid.observed["obs_age_minutes"].to_numpy(),
        grid.observed["age_minutes"].to_numpy(),
        threshold,
        horizon_minutes,
    )
    return Examples(
        grid=grid,
        y=labels["label"].to_numpy()[repeat],
        likes_at_horizon=pd.Series(
            labels["likes_at_horizon"].to_numpy()[repeat], index=grid.observed.index
        ),
        slice=split.slices.repeat(len(ages)),  # the grid keeps the labeled videos' order
        split=split,
        # at the horizon a video without counts is unanswerable, not the model's to learn
        open=~decided & (grid.observed["age_minutes"].to_numpy() < horizon_minutes),
    )


def prepare(
    dataset: Dataset, settings: Settings, advance: Callable[[str], None] = lambda _s: None
) -> tuple[Examples, FeatureSpec, pd.DataFrame]:
    """Examples, the feature spec fitted on the training slice only, and every row's features.

    Training, tuning and the training benchmark all start here.
    """
    ex = build_examples(dataset, settings, settings.threshold, settings.horizon_minutes, advance)
    train = ex.part("train")
    advance("features")
    spec = fit_spec(
        ex.grid.rows(train, SPEC_COLUMNS),
        ex.likes_at_horizon[train],
        settings.threshold,
        settings.horizon_minutes,
        settings.timezone,
        settings.training_ages,
    )
    return ex, spec, build_grid_features(ex.grid, spec, settings.feature_threads)


def fit(
    dataset: Dataset,
    settings: Settings,
    params_override: dict[str, Any],
    advance: Callable[[str], None] = lambda _s: None,
    trainer: Callable[..., lgb.Booster] = train_booster,
) -> TrainOutcome:
    """The whole pipeline; ``trainer`` is the booster step (local, or on Dask)."""
    clock = StageClock(advance)
    advance = clock.advance
    threshold = settings.threshold
    ex, spec, features = prepare(dataset, settings, advance)
    parts = {name: ex.part(name) for name in ("train", "valid", "calib", "test")}

    advance("lightgbm")
    params = lgbm_params(params_override, list(spec.features), settings.seed, settings.lgbm_threads)
    train_x = features[parts["train"]]
    booster = trainer(
        train_x,
        ex.y[parts["train"]],
        features[parts["valid"]],
        ex.y[parts["valid"]],
        params,
    )

    advance("calibration")
    uncalibrated = ModelBundle(booster, Calibrator("identity"), spec)
    calib_raw = uncalibrated.raw_score(features[parts["calib"]])
    calibrator, calib_scores = choose_calibrator(
        calib_raw, ex.y[parts["calib"]], ex.grid.per_example("video_id")[parts["calib"]]
    )
    bundle = ModelBundle(booster, calibrator, spec)

    advance("baselines")
    prior = float(ex.y[parts["train"]].mean())
    test_x, test_y = features[parts["test"]], ex.y[parts["test"]]
    predictions = {
        "lightgbm": bundle.predict_features(test_x),
        "szabo_huberman": szabo_huberman(test_x, spec, prior),
        "logistic": predict_logistic(
            _fit_logistic(features, ex.y, parts["train"], settings.seed), test_x
        ),
        "creator_hit_rate": creator_hit_rate(test_x, prior),
    }

    advance("evaluation")
    test_ages = ex.grid.per_example("age_minutes")[parts["test"]]
    tables = {
        name: score_by_age(test_y, p, test_ages, spec.ages) for name, p in predictions.items()
    }
    metrics: dict[str, float] = {}
    for name, table in tables.items():
        metrics.update(flatten(table, "test" if name == "lightgbm" else f"baseline_{name}"))
    for name in BASELINES:
        metrics[f"auc_gain_over_{name}"] = (
            tables["lightgbm"].loc["all", "roc_auc"] - tables[name].loc["all", "roc_auc"]
        )
    metrics.update(_creator_disjoint(ex, parts, predictions["lightgbm"]))
    metrics.update(calib_scores)
    metrics["best_iteration"] = float(booster.best_iteration)
    metrics.update({f"seconds_{stage}": t for stage, t in clock.finish().items()})

    test_rows = ex.grid.rows(parts["test"]).assign(label=test_y)
    bundle.meta = {
        "trained_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "threshold": threshold,
        "horizon_days": settings.horizon_days,
        "calibration": calibrator.method,
        "best_iteration": booster.best_iteration,
        "metrics": {k: v for k, v in metrics.items() if "_age_" not in k},
        "split_cutoffs": ex.split.cutoffs,
        "base_rate": prior,
        "typical": typical_values(train_x),
    }
    return TrainOutcome(
        bundle=bundle,
        params={k: v for k, v in params.items() if k != "monotone_constraints"},
        tables=tables,
        metrics=metrics,
        test_rows=test_rows,
        test_predictions={**predictions, "y": test_y, "age_minutes": test_ages},
        test_features=test_x,
        summary={
            "rows": {k: int(v.sum()) for k, v in parts.items()},
            "decided_rows": int((~ex.open).sum()),
        },
    )


def _fit_logistic(features: pd.DataFrame, y: np.ndarray, train: np.ndarray, seed: int):
    """A capped, seeded sample: the baseline needs a fair fit, not every row."""
    idx = np.flatnonzero(train)
    if len(idx) > LOGISTIC_MAX_ROWS:
        idx = np.sort(np.random.default_rng(seed).choice(idx, LOGISTIC_MAX_ROWS, replace=False))
    return fit_logistic(features.iloc[idx], y[idx], seed)


def _creator_disjoint(ex: Examples, parts: dict[str, np.ndarray], p: np.ndarray) -> dict:
    """Test metrics on creators never seen in training: does it generalize to new creators?"""
    creators = pd.factorize(ex.grid.videos["creator_id"])[0].repeat(ex.grid.ages)
    new = ~np.isin(creators[parts["test"]], creators[parts["train"]])
    if new.sum() < 50 or len(np.unique(ex.y[parts["test"]][new])) < 2:
        return {}
    result = score(ex.y[parts["test"]][new], p[new])
    return {
        "test_new_creators_roc_auc": result["roc_auc"],
        "test_new_creators_log_loss": result["log_loss"],
        "test_new_creators_n": result["n"],
    }


def evaluate_bundle(
    bundle: ModelBundle, rows: pd.DataFrame, y: np.ndarray, grid: tuple[float, ...]
) -> pd.DataFrame:
    """The served answers on labeled raw rows, by age bucket.

    The metrics are the model's, on the rows the counts leave open; ``decided`` counts the
    rows the counts answered, and ``decided_right`` the share of those that match the label.
    """
    answers = bundle.answer_rows(rows)
    ages = rows["age_minutes"].to_numpy()
    open_ = ~answers.decided
    table = score_by_age(y[open_], answers.probability[open_], ages[open_], grid)
    buckets = pd.Series(age_bucket(ages, grid)).map(lambda a: f"{a:g}")
    decided = pd.DataFrame(
        {
            "bucket": buckets.to_numpy(),
            "decided": answers.decided,
            "right": answers.decided & (answers.probability == y),
        }
    )
    counts = decided.groupby("bucket")[["decided", "right"]].sum()
    counts.loc["all"] = counts.sum()
    table = table.join(counts, how="outer")
    table["decided"] = table["decided"].fillna(0)
    table["decided_right"] = table["right"] / table["decided"].where(table["decided"] > 0)
    order = ["all", *sorted((b for b in table.index if b != "all"), key=float)]
    return table.drop(columns="right").loc[order].rename_axis("age_minutes")


def spec_summary(spec: FeatureSpec) -> dict[str, Any]:
    return {"features": list(spec.features), "categories": list(spec.categories)}
