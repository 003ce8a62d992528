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
from features.labels import REACHED_THEN_UNSEEN, known_outcome, label_videos
from features.loading import Dataset
from features.matrix import build_grid_features, clamp_frame
from features.spec import SPEC_COLUMNS, FeatureSpec, age_bucket, fit_spec, with_ranges
from features.store import data_end
from likecast.settings import Settings
from models.baselines import creator_hit_rate, szabo_huberman
from models.blend import INPUTS, Blend, fit_blend
from models.bundle import ModelBundle
from models.curves import Curves
from models.estimator import lgbm_params, to_matrix, train_booster
from models.explain import typical_values
from models.logistic import LogisticBaseline, fit_logistic, predict_proba
from models.meta import BundleMeta
from training.choices import draft_choices
from training.curves import MIN_GROUP_VIDEOS, like_curves
from training.metrics import flatten, score, score_by_age
from training.monitor.reference import Rows, build_reference, posting_times
from training.split import SLICES, Split, split_by_time
from training.timing import like_timing

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
        """Close the running stage and start ``stage``."""
        self._close()
        self._stage, self._started = stage, time.perf_counter()
        self._advance(stage)

    def note(self, label: str) -> None:
        """Show ``label`` as progress within the running stage (a partition done)."""
        self._advance(label)

    def _close(self) -> None:
        if self._stage is not None:
            key = self._stage.replace(" ", "_")
            self.seconds[key] = round(time.perf_counter() - self._started, 3)

    def finish(self) -> dict[str, float]:
        """Close the running stage; every stage's seconds, keyed with underscores."""
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
    """Everything a training run produced, for ``training.tracking`` to record."""

    bundle: ModelBundle
    params: dict[str, Any]
    tables: dict[str, pd.DataFrame]  # model name -> metrics by age bucket, on test
    metrics: dict[str, float]
    test_rows: pd.DataFrame  # raw rows + label, for promotion and plots
    test_predictions: dict[str, np.ndarray]
    test_features: pd.DataFrame
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class Labeled:
    """Every labeled video at every grid age, before the split (video-major rows)."""

    grid: Grid
    y: np.ndarray
    likes_at_horizon: pd.Series
    open: np.ndarray
    videos: pd.DataFrame  # each labeled video's video_id, posted_at and label, in grid order


def labeled_examples(
    dataset: Dataset,
    settings: Settings,
    advance: Callable[[str], None],
    threads: int,
) -> Labeled:
    """Label the videos and lay the labeled ones out at every training age.

    Args:
        dataset: The loaded videos and snapshots (all of them, or one partition's).
        settings: Threshold, horizon, ages and history window.
        advance: Called with each stage's name as it starts.
        threads: Threads for the snapshot look-ups.
    """
    threshold, horizon_minutes = settings.threshold, settings.horizon_minutes
    advance("labels")
    labels = label_videos(
        dataset.videos,
        dataset.snapshots,
        threshold,
        horizon_minutes,
        observed_until=data_end(dataset),
    )
    advance("creator history")
    per_video = video_rows(
        dataset.videos, labels, threshold, horizon_minutes, settings.history_window
    )
    labeled = labels["labeled"].to_numpy()
    advance("examples")
    ages = settings.training_ages
    grid = grid_examples(per_video[labeled], dataset.snapshots, ages, horizon_minutes, threads)
    repeat = np.repeat(np.flatnonzero(labeled), len(ages))
    _, decided = known_outcome(
        grid.observed["likes"].to_numpy(),
        grid.observed["obs_age_minutes"].to_numpy(),
        grid.observed["age_minutes"].to_numpy(),
        threshold,
        horizon_minutes,
        lag_likes=grid.observed["lag1_likes"].to_numpy(),
        lag_age_minutes=grid.observed["lag1_age_minutes"].to_numpy(),
    )
    # the likes at the horizon of a video whose crawl stopped once it was reached are only
    # a lower bound: the spec's offsets (likes at an age -> at the horizon) skip them
    exact = (labels["rule"] != REACHED_THEN_UNSEEN).to_numpy()
    return Labeled(
        grid=grid,
        y=labels["label"].to_numpy()[repeat],
        likes_at_horizon=pd.Series(
            labels["likes_at_horizon"].where(exact).to_numpy()[repeat],
            index=grid.observed.index,
        ),
        # at the horizon a video without counts is unanswerable, not the model's to learn
        open=~decided & (grid.observed["age_minutes"].to_numpy() < horizon_minutes),
        videos=pd.DataFrame(
            {
                "video_id": dataset.videos["video_id"][labeled],
                "posted_at": dataset.videos["posted_at"][labeled],
                "label": labels["label"][labeled],
            }
        ).reset_index(drop=True),
    )


def build_examples(
    dataset: Dataset, settings: Settings, advance: Callable[[str], None]
) -> Examples:
    """Labeled examples, split by time."""
    labeled = labeled_examples(dataset, settings, advance, settings.feature_threads)
    split = split_by_time(labeled.videos)
    return Examples(
        grid=labeled.grid,
        y=labeled.y,
        likes_at_horizon=labeled.likes_at_horizon,
        slice=split.slices.repeat(labeled.grid.ages),  # the grid keeps the videos' order
        split=split,
        open=labeled.open,
    )


def prepare(
    dataset: Dataset, settings: Settings, advance: Callable[[str], None] = lambda _s: None
) -> tuple[Examples, FeatureSpec, pd.DataFrame]:
    """Examples, the feature spec fitted on the training slice only, and every row's features.

    Training, tuning and the training benchmark all start here.
    """
    ex = build_examples(dataset, settings, advance)
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


@dataclass
class Slice:
    """One slice's open examples as the model sees them, and what evaluation reads of them."""

    x: pd.DataFrame
    y: np.ndarray
    video_id: np.ndarray
    age_minutes: np.ndarray
    posted_at: np.ndarray  # each example's video's posting time (datetime64[ns], UTC)


@dataclass
class TrainingSet:
    """What fitting needs, however the examples were built (here or partition by partition).

    ``train_x``/``train_y`` are what the booster trains on: frames here, Dask collections
    when it trains on a cluster. ``train`` is the train slice in memory for the logistic
    baseline and the typical values: all of it here, a sample of its videos on a cluster.
    """

    spec: FeatureSpec
    train_x: Any
    train_y: Any
    train: Slice
    valid: Slice
    calib: Slice
    test: Slice
    test_rows: pd.DataFrame  # raw rows and label, for promotion and the logged model's example
    test_new_creators: np.ndarray  # each test example: is its creator absent from train?
    prior: float  # the train slice's hit rate among open examples
    category_rates: dict[str, dict[str, Any]]
    cutoffs: dict[str, str]
    summary: dict[str, Any]
    curves: Curves  # the train slice's like curves and every video's like timing


def training_set(
    dataset: Dataset, settings: Settings, advance: Callable[[str], None] = lambda _s: None
) -> TrainingSet:
    """The in-memory training set: every example of every slice."""
    ex, spec, features = prepare(dataset, settings, advance)
    parts = {name: ex.part(name) for name in SLICES}
    video_ids = ex.grid.per_example("video_id")
    ages = ex.grid.per_example("age_minutes")
    posted = posting_times(ex.grid.videos["posted_at"]).repeat(ex.grid.ages)  # no objects
    sliced = {
        name: Slice(features[mask], ex.y[mask], video_ids[mask], ages[mask], posted[mask])
        for name, mask in parts.items()
    }
    creators = pd.factorize(ex.grid.videos["creator_id"])[0].repeat(ex.grid.ages)
    trained_videos = ex.split.slices == "train"
    train = sliced["train"]
    return TrainingSet(
        spec=spec,
        train_x=train.x,
        train_y=train.y,
        train=train,
        valid=sliced["valid"],
        calib=sliced["calib"],
        test=sliced["test"],
        test_rows=ex.grid.rows(parts["test"]).assign(label=sliced["test"].y),
        test_new_creators=~np.isin(creators[parts["test"]], creators[parts["train"]]),
        prior=float(train.y.mean()),
        category_rates=category_rates(
            ex.grid.videos["category"].to_numpy()[trained_videos],
            ex.y[:: ex.grid.ages][trained_videos],  # each video's label, once (video-major)
        ),
        cutoffs=ex.split.cutoffs,
        summary={
            "rows": {k: int(v.sum()) for k, v in parts.items()},
            "decided_rows": int((~ex.open).sum()),
        },
        curves=like_curves(
            ex.grid, ex.y[:: ex.grid.ages], trained_videos, settings.threshold, MIN_GROUP_VIDEOS
        ).model_copy(
            update={
                "timing": like_timing(
                    dataset.snapshots,
                    dataset.videos,
                    settings.timezone,
                    settings.seed,
                    settings.timing_max_gap_minutes,
                )
            }
        ),
    )


def fit(
    dataset: Dataset,
    settings: Settings,
    params_override: dict[str, Any],
    advance: Callable[[str], None] = lambda _s: None,
    trainer: Callable[..., lgb.Booster] = train_booster,
) -> TrainOutcome:
    """The whole pipeline, from a validated data set to an evaluated, described bundle.

    Args:
        dataset: The loaded videos and snapshots.
        settings: Threshold, horizon, ages, seed and threads.
        params_override: LightGBM parameters that replace the defaults.
        advance: Called with each stage's name as it starts (progress display).
        trainer: The booster step: ``train_booster`` locally, or a Dask trainer.

    Returns:
        The bundle with its metadata, the test metrics of it and of the baselines, and
        what ``training.tracking`` logs.
    """
    clock = StageClock(advance)
    return fit_set(
        training_set(dataset, settings, clock.advance), settings, params_override, clock, trainer
    )


def fit_set(
    data: TrainingSet,
    settings: Settings,
    params_override: dict[str, Any],
    clock: StageClock,
    trainer: Callable[..., lgb.Booster] = train_booster,
) -> TrainOutcome:
    """Booster, blend, baselines and evaluation on a training set, however it was built.

    The features' ranges in the train slice are frozen in the spec first, and the other
    slices clamped to them as every answer will be.
    """
    spec = with_ranges(data.spec, data.train.x)
    for part in (data.valid, data.calib, data.test):
        part.x = clamp_frame(part.x, spec)
    clock.advance("lightgbm")
    params = lgbm_params(params_override, list(spec.features), settings.seed, settings.lgbm_threads)
    booster = trainer(data.train_x, data.train_y, data.valid.x, data.valid.y, params)

    clock.advance("blend")
    logistic = fit_logistic(data.train.x, data.train.y, len(spec.categories), settings.seed)
    calib = data.calib
    bundle = blend(booster, spec, logistic, data.prior, calib.x, calib.y, calib.video_id)
    drafts = calib.age_minutes == 0
    choices = draft_choices(bundle, to_matrix(calib.x[drafts]), calib.y[drafts], settings.seed)

    clock.advance("baselines")
    test = data.test
    predictions = {
        "lightgbm": bundle.predict_features(test.x),
        **baseline_predictions(to_matrix(test.x), spec, logistic, data.prior),
    }

    clock.advance("evaluation")
    tables = {
        name: score_by_age(test.y, p, test.age_minutes, spec.ages)
        for name, p in predictions.items()
    }
    metrics = {
        **comparison_metrics(tables),
        **creator_disjoint_metrics(test.y, predictions["lightgbm"], data.test_new_creators),
        **blend_weights(bundle),
        **{f"draft_{name}_loss_increase": c["loss_increase"] for name, c in choices.items()},
        "best_iteration": float(booster.best_iteration),
    }
    clock.advance("reference")
    slices = (data.train, data.valid, data.calib, test)
    bundle.reference = build_reference(
        bundle,
        Rows(test.x, test.age_minutes, test.video_id, test.posted_at),
        Rows(
            pd.concat([s.x for s in slices], ignore_index=True),
            np.concatenate([s.age_minutes for s in slices]),
            np.concatenate([s.video_id for s in slices]),
            np.concatenate([s.posted_at for s in slices]),
        ),
        settings.seed,
        settings.drift_reference_rows,
        settings.drift_attribution_rows,
    )
    metrics.update({f"seconds_{stage}": t for stage, t in clock.finish().items()})

    bundle.meta = bundle_meta(bundle, settings, metrics, tables["lightgbm"], data, choices)
    bundle.curves = data.curves
    return TrainOutcome(
        bundle=bundle,
        params={k: v for k, v in params.items() if k != "monotone_constraints"},
        tables=tables,
        metrics=metrics,
        test_rows=data.test_rows,
        test_predictions={**predictions, "y": test.y, "age_minutes": test.age_minutes},
        test_features=test.x,
        summary=data.summary,
    )


def blend(
    booster: lgb.Booster,
    spec: FeatureSpec,
    logistic: LogisticBaseline,
    prior: float,
    calib_x: pd.DataFrame,
    calib_y: np.ndarray,
    calib_videos: np.ndarray,
) -> ModelBundle:
    """The bundle whose answers blend LightGBM with the baselines, per age, as fitted on the
    calib slice: videos neither the booster nor the logistic baseline trained on."""
    matrix = to_matrix(calib_x)
    log_odds = np.asarray(booster.predict(matrix, raw_score=True))
    fitted = fit_blend(matrix, log_odds, calib_y, calib_videos, spec, logistic, prior)
    return ModelBundle(booster, fitted, spec)


def baseline_predictions(
    test_matrix: np.ndarray, spec: FeatureSpec, logistic: LogisticBaseline, prior: float
) -> dict[str, np.ndarray]:
    """Each simple baseline's probabilities on the test rows, keyed by ``BASELINES``' names.

    The Szabo-Huberman rule and the creator's hit rate fall back to the training slice's hit
    rate (``prior``) where a row has no evidence.
    """
    return {
        "szabo_huberman": szabo_huberman(test_matrix, spec, prior),
        "logistic": predict_proba(logistic, test_matrix),
        "creator_hit_rate": creator_hit_rate(test_matrix, spec, prior),
    }


def blend_weights(bundle: ModelBundle) -> dict[str, float]:
    """The blend's weight of each input at each age, as run metrics: where a baseline
    carries the answer, its weight shows it."""
    assert isinstance(bundle.calibrator, Blend)
    return {
        f"blend_{name}_age_{age.age:g}": weight
        for age in bundle.calibrator.ages
        for name, weight in zip(INPUTS, age.weights, strict=True)
    }


def comparison_metrics(tables: dict[str, pd.DataFrame]) -> dict[str, float]:
    """Run metrics from each model's table by age: LightGBM's as ``test_*``, the baselines'
    as ``baseline_<name>_*``, and LightGBM's ROC AUC gain over each baseline."""
    metrics: dict[str, float] = {}
    for name, table in tables.items():
        metrics.update(flatten(table, "test" if name == "lightgbm" else f"baseline_{name}"))
    ours = float(tables["lightgbm"]["roc_auc"]["all"])
    for name in BASELINES:
        metrics[f"auc_gain_over_{name}"] = ours - float(tables[name]["roc_auc"]["all"])
    return metrics


def creator_disjoint_metrics(y: np.ndarray, p: np.ndarray, new: np.ndarray) -> dict[str, float]:
    """Test metrics on creators never seen in training (``new``): does it generalize to new
    creators? Empty when the test slice holds too few such examples (under 50) or one class."""
    if new.sum() < 50 or len(np.unique(y[new])) < 2:
        return {}
    result = score(y[new], p[new])
    return {
        "test_new_creators_roc_auc": result["roc_auc"],
        "test_new_creators_log_loss": result["log_loss"],
        "test_new_creators_n": result["n"],
    }


def bundle_meta(
    bundle: ModelBundle,
    settings: Settings,
    metrics: dict[str, float],
    by_age: pd.DataFrame,
    data: TrainingSet,
    choices: dict[str, dict[str, float | bool]],
) -> BundleMeta:
    """What a bundle carries about its training: when, for what target, how well, on what,
    and what its answers quote (``models.meta``).

    ``by_age`` is LightGBM's test table (``score_by_age``): the served answers say how
    reliable a prediction at the request's age was on the test slice, so the bundle keeps
    each age bucket's test metrics (``None`` where a metric is undefined, e.g. one class).
    ``choices`` are the draft choices measured on held-out drafts (``training.choices``).
    """
    return BundleMeta(
        trained_at=datetime.now(UTC).isoformat(timespec="seconds"),
        threshold=settings.threshold,
        horizon_days=settings.horizon_days,
        calibration=bundle.calibrator.method,
        best_iteration=int(bundle.booster.best_iteration),
        metrics={k: float(v) for k, v in metrics.items() if "_age_" not in k},
        by_age={
            str(age): {str(name): float(v) if np.isfinite(v) else None for name, v in row.items()}
            for age, row in by_age.drop(index="all").iterrows()
        },
        split_cutoffs=data.cutoffs,
        base_rate=float(data.prior),
        typical=typical_values(data.train.x),
        draft_choices=choices,
        category_rates=data.category_rates,
    )


def category_rates(categories: np.ndarray, labels: np.ndarray) -> dict[str, dict[str, Any]]:
    """Each category's share of videos that reached the threshold, and how many videos.

    One value per video, not per example: the answers show it as "typically 9% of food
    videos reach 1000 likes", a fact of the training videos, not a model output. Videos
    without a category count in no category.
    """
    return rates_of(category_counts(categories, labels))


def category_counts(categories: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Videos and hits per category, summable across partitions."""
    frame = pd.DataFrame({"category": categories, "label": labels}).dropna(subset="category")
    grouped = frame.groupby(frame["category"].astype(str))["label"]
    return pd.DataFrame({"videos": grouped.size(), "hits": grouped.sum()})


def rates_of(counts: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """``category_rates`` from (summed) ``category_counts``."""
    return {
        str(name): {"rate": float(row["hits"] / row["videos"]), "videos": int(row["videos"])}
        for name, row in counts.iterrows()
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
    """The spec's feature and category names, as a run records them."""
    return {"features": list(spec.features), "categories": list(spec.categories)}
