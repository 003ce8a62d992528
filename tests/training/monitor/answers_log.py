"""Test logs: a bundle's answers on raw rows, written as the service would log them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from features.arrays import frame_arrays
from features.matrix import feature_matrix
from features.prediction_log import LoggedAnswer, log_folder
from features.rows import RAW_COLUMNS
from models.bundle import Answers, ModelBundle


def logged_answers(
    bundle: ModelBundle, rows: pd.DataFrame, version: str, answers: Answers | None = None
) -> list[LoggedAnswer]:
    """One record per raw row, answered by ``bundle`` (or given ``answers``), logged at the
    row's age after its posting."""
    arrays = frame_arrays(rows, RAW_COLUMNS)
    matrix = feature_matrix(arrays, bundle.spec)
    answers = answers or bundle.answer_matrix(matrix, arrays)
    names = list(bundle.spec.features)
    spec = bundle.spec
    records = []
    for i, row in enumerate(rows.itertuples(index=False)):
        posted = pd.Timestamp(row.posted_at)
        records.append(
            LoggedAnswer(
                logged_at=posted + pd.Timedelta(minutes=float(row.age_minutes)),
                request_id=f"r{i}",
                route="early" if row.age_minutes else "draft",
                model_version=version,
                threshold=spec.threshold,
                horizon_days=spec.horizon_minutes / 1440,
                video_id=str(row.video_id),
                creator_id=str(row.creator_id),
                posted_at=posted,
                age_minutes=float(row.age_minutes),
                features={
                    n: None if np.isnan(v) else float(v)
                    for n, v in zip(names, matrix[i], strict=True)
                },
                probability=float(answers.probability[i]),
                low=float(np.nan_to_num(answers.low[i], nan=answers.probability[i])),
                high=float(np.nan_to_num(answers.high[i], nan=answers.probability[i])),
                reached=bool(answers.reached[i]),
                decided=bool(answers.decided[i]),
            )
        )
    return records


def write_log(home: Path, records: list[LoggedAnswer], name: str = "log.jsonl") -> Path:
    """The records as one file of ``home``'s prediction log."""
    folder = log_folder(home)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("".join(record.line() for record in records), encoding="utf-8")
    return path
