"""Prediction logs for the monitor's tests: a bundle's held-out rows written as logged answers,
as the service would have logged them, without starting it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from features.prediction_log import LoggedAnswer, log_folder
from models.bundle import ModelBundle
from models.estimator import to_matrix
from training.monitor.reference import Rows, build_reference, posting_times
from training.train import TrainOutcome


@dataclass(frozen=True)
class Halves:
    """The test slice split by video: one half frozen as the reference, the other to log."""

    bundle: ModelBundle  # the trained bundle, its reference built from the first half
    x: pd.DataFrame  # the second half's feature rows
    ages: np.ndarray
    videos: np.ndarray
    posted: pd.Series  # each row's video's posting time


def split_halves(trained: TrainOutcome) -> Halves:
    x = trained.test_features
    ages = trained.test_predictions["age_minutes"]
    videos = trained.test_rows["video_id"].to_numpy()
    posted = trained.test_rows["posted_at"].reset_index(drop=True)
    names = np.unique(videos)
    first = np.isin(videos, np.random.default_rng(0).choice(names, len(names) // 2, replace=False))
    rows = Rows(x[first], ages[first], videos[first], posting_times(posted[first]))
    reference = build_reference(
        trained.bundle,
        rows,
        rows,
        seed=1,
        max_rows=20_000,
        attribution_rows=500,
    )
    bundle = ModelBundle(trained.bundle.booster, trained.bundle.calibrator, trained.bundle.spec)
    bundle.meta, bundle.reference = trained.bundle.meta, reference
    return Halves(
        bundle, x[~first], ages[~first], videos[~first], posted[~first].reset_index(drop=True)
    )


def answers(
    bundle: ModelBundle,
    x: pd.DataFrame,
    ages: np.ndarray,
    videos: np.ndarray,
    posted: pd.Series,
    version: str = "local",
    shift: dict[str, float] | None = None,
) -> list[LoggedAnswer]:
    """One logged answer per row, at the moment it was asked (its video's posting time plus
    its age, as the service logs it); ``shift`` multiplies features first."""
    matrix = to_matrix(x).copy()
    for name, factor in (shift or {}).items():
        matrix[:, bundle.spec.positions[name]] *= factor
    p = bundle.predict_matrix(matrix)
    names = list(bundle.spec.features)
    return [
        LoggedAnswer(
            logged_at=pd.Timestamp(posted.iloc[i]).to_pydatetime()
            + timedelta(minutes=float(ages[i])),
            request_id=f"r{i}",
            route="early",
            model_version=version,
            threshold=bundle.spec.threshold,
            horizon_days=bundle.spec.horizon_minutes / 1440,
            video_id=str(videos[i]),
            age_minutes=float(ages[i]),
            features={
                n: None if np.isnan(v) else float(v) for n, v in zip(names, row, strict=True)
            },
            probability=float(p[i]),
            low=float(p[i]),
            high=float(p[i]),
            reached=False,
            decided=False,
        )
        for i, row in enumerate(matrix)
    ]


def write_log(home: Path, logged: list[LoggedAnswer], name: str = "20261201T000000-1") -> Path:
    folder = log_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.jsonl"
    path.write_text("".join(answer.line() for answer in logged))
    return path
