"""Recording a monitoring run in MLflow: one experiment per model, a run per check, linked to
the version it judged (a tag on the run, and on the registry version when it is there)."""

from __future__ import annotations

import contextlib
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from likecast.settings import Settings
from training.monitor.plots import outcome_plots
from training.tracking import experiment_id

# metrics of the outcome table logged per row, as ``<name>_age_<bucket>``
LOGGED = (
    "roc_auc",
    "roc_auc_low",
    "roc_auc_high",
    "log_loss",
    "calibration_gap",
    "coverage",
    "estimated_auc",
    "n",
)


def experiment_name(settings: Settings) -> str:
    return f"{settings.model_name}-monitoring"


def log_outcomes(
    client: MlflowClient,
    settings: Settings,
    labeled: pd.DataFrame,
    table: pd.DataFrame,
    counts: dict[str, int],
) -> list[str]:
    """One run per version judged, with its figures and plots; the runs' ids."""
    experiment = experiment_id(client, experiment_name(settings), settings)
    run_ids = []
    with tempfile.TemporaryDirectory(prefix="likecast-monitor-") as folder:
        paths = outcome_plots(labeled, table, Path(folder))
        for version in sorted(table["model_version"].unique()):
            run = client.create_run(
                experiment,
                run_name=f"outcomes v{version}",
                tags={
                    "likecast.check": "outcomes",
                    "likecast.model_version": version,
                    "likecast.model_name": settings.model_name,
                },
            )
            run_id = run.info.run_id
            for metric, value in _metrics(table[table["model_version"] == version]).items():
                client.log_metric(run_id, metric, value)
            for stage, value in counts.items():
                client.log_metric(run_id, f"answers_{stage}", float(value))
            for path in paths:
                if path.stem.endswith(f"_v{version}"):
                    client.log_artifact(run_id, str(path))
            client.set_terminated(run_id)
            _link(client, settings.model_name, version, run_id)
            run_ids.append(run_id)
    return run_ids


def _metrics(rows: pd.DataFrame) -> dict[str, float]:
    out: dict[str, Any] = {}
    for _, row in rows.iterrows():
        suffix = "" if row["age_bucket"] == "all" else f"_age_{row['age_bucket']}"
        for name in LOGGED:
            value = float(row[name])
            if np.isfinite(value):
                out[f"{name}{suffix}"] = value
        out[f"alert{suffix}"] = float(bool(row["alert"]))
    return out


def _link(client: MlflowClient, name: str, version: str, run_id: str) -> None:
    """Tag the registry version with its latest outcomes run; a version not registered (a
    folder's answers) has nothing to tag."""
    with contextlib.suppress(MlflowException):
        client.set_model_version_tag(name, version, "likecast.last_outcomes_run", run_id)
