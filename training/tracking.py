"""MLflow: recording training runs and registering their bundles as model versions.

A model version is registered only after every artifact of its run was logged, so a failure
anywhere (including a tracking server going away) never leaves a half-registered version.
"""

from __future__ import annotations

import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightgbm as lgb
import mlflow
import numpy as np
import pandas as pd
import sklearn
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature
from mlflow.tracking import MlflowClient

from likecast.settings import Settings
from likecast.target import Target
from models.mlflow_client import TrackingError, connect
from models.pyfunc import to_wire
from training.leftovers import owner_tags, temp_folder
from training.metrics import (
    baseline_beats,
    beat_metrics,
    calibration_warning,
    describe_beats,
    disqualifying,
)
from training.report import html_report, plots
from training.train import TrainOutcome, spec_summary

EXAMPLE_ROWS = 5
SUMMARY_METRICS = ("roc_auc", "log_loss", "ece", "calibration_gap")  # of each version


@dataclass(frozen=True)
class Registered:
    """The run a training was logged as, and the registry version made from it."""

    run_id: str
    version: str
    model_uri: str


def experiment_id(client: MlflowClient, name: str, settings: Settings) -> str:
    """The id of experiment ``name``, created (artifacts under the home when local) if new."""
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        return existing.experiment_id
    local = settings.resolved_tracking_uri.startswith("sqlite:")
    location = settings.artifact_root.as_uri() if local else None
    return client.create_experiment(name, artifact_location=location)


def _git(*args: str) -> str:
    here = Path(__file__).resolve().parent
    return subprocess.run(
        ["git", *args], cwd=here, capture_output=True, text=True, check=True, timeout=5
    ).stdout.strip()


def code_version() -> str:
    """The git commit the code came from (with -dirty for local edits), else the package."""
    try:
        dirty = "-dirty" if _git("status", "--porcelain") else ""
        return f"{_git('rev-parse', 'HEAD')}{dirty}"
    except (OSError, subprocess.SubprocessError):
        from importlib.metadata import version

        return f"likecast {version('likecast')}"


def log_and_register(
    outcome: TrainOutcome,
    fingerprint: dict[str, Any],
    settings: Settings,
    experiment: str,
    advance: Callable[[str], None] = lambda _s: None,
    report: bool = True,
) -> Registered:
    """Log a training run (params, metrics, plots, report, test slice, model), then register it.

    Args:
        outcome: What ``training.train.fit`` returned.
        fingerprint: The data set's description, logged as ``data_*`` params.
        settings: The tracking store and the registered model's name.
        experiment: The MLflow experiment to log under.
        advance: Called with each stage's name as it starts.
        report: Draw the plots and the HTML report (seconds of matplotlib and SHAP); a
            caller that needs only the version registered (a test's fixture) may skip them.

    Returns:
        The run id, the new version and the logged model's URI.

    Raises:
        TrackingError: The store cannot be reached or the registration failed.
    """
    client = connect(settings)
    exp = experiment_id(client, experiment, settings)
    with temp_folder() as tmp:
        # created with its owner's tags, so a run killed at once can be told from a live one
        with mlflow.start_run(experiment_id=exp, tags=owner_tags()) as run:
            target = outcome.bundle.spec.target
            mlflow.set_tags(
                {"code_version": code_version(), "likecast.kind": "train", **target.tags()}
            )
            mlflow.log_params(
                {**outcome.params, **{f"data_{k}": v for k, v in fingerprint.items()}}
            )
            beats = disqualifying(baseline_beats(outcome.tables))
            mlflow.set_tag("baseline_beats_lightgbm", describe_beats(beats) or "none")
            mlflow.set_tag("calibration_warning", calibration_warning(outcome.tables) or "none")
            mlflow.log_dict(spec_summary(outcome.bundle.spec), "feature_spec_summary.json")
            if report:
                advance("plots and report")
                images = plots(outcome, tmp / "plots", settings.seed)
                mlflow.log_artifacts(str(tmp / "plots"), "plots")
                mlflow.log_text(html_report(outcome, fingerprint, images), "report.html")
            evaluation = tmp / "evaluation"
            evaluation.mkdir()
            outcome.test_rows.to_parquet(evaluation / "test_rows.parquet", index=False)
            for name, table in outcome.tables.items():
                table.to_csv(evaluation / f"metrics_by_age_{name}.csv")
            mlflow.log_artifacts(str(evaluation), "evaluation")
            advance("model bundle")
            bundle_dir = outcome.bundle.save(tmp / "bundle")
            info = _log_pyfunc(outcome, bundle_dir)
            # after the model, linked to it in one call: logged before, MLflow's log_model
            # would fetch every metric's history again, one request per metric
            metrics = {
                **outcome.metrics,
                **beat_metrics(outcome.tables),
                "calibration_gap_over_limit": float(
                    calibration_warning(outcome.tables) is not None
                ),
            }
            mlflow.log_metrics(metrics, model_id=info.model_id)
        advance("registering")
        try:
            # the target on the version itself: promote, `likecast models` and the commands
            # that build for the champion read it without downloading the bundle
            version = mlflow.register_model(info.model_uri, settings.model_name, tags=target.tags())
            client.update_model_version(
                settings.model_name, version.version, description=describe(target)
            )
        except MlflowException as exc:
            raise TrackingError(f"registering {settings.model_name} failed: {exc.message}") from exc
    return Registered(run.info.run_id, str(version.version), info.model_uri)


def describe(target: Target) -> str:
    """A version's description in the registry: the question it answers."""
    return f"Predicts whether a video reaches {target} of posting."


def _log_pyfunc(outcome: TrainOutcome, bundle_dir: Path) -> Any:
    example = to_wire(outcome.test_rows.drop(columns="label").head(EXAMPLE_ROWS))
    signature = infer_signature(
        example,
        outcome.bundle.predict_rows(outcome.test_rows.drop(columns="label").head(EXAMPLE_ROWS)),
    )
    info = mlflow.pyfunc.log_model(
        name="model",
        loader_module="models.pyfunc",
        data_path=str(bundle_dir),
        signature=signature,
        input_example=example,
        pip_requirements=[
            f"lightgbm=={lgb.__version__}",
            f"pandas=={pd.__version__}",
            f"numpy=={np.__version__}",
            f"scikit-learn=={sklearn.__version__}",
            f"mlflow=={mlflow.__version__}",
        ],
    )
    if info.signature is None:
        raise TrackingError("MLflow stored no signature for the model; refusing to register it")
    return info


# ----------------------------------------------------------------------------- loading


def read_test_rows(client: MlflowClient, run_id: str) -> pd.DataFrame:
    """The test slice a version was evaluated on, as logged by its run."""
    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(run_id, "evaluation/test_rows.parquet", tmp)
        return pd.read_parquet(path)


def read_tables(client: MlflowClient, run_id: str) -> dict[str, pd.DataFrame]:
    """Each model's test metrics by age bucket, as logged by the run (``metrics_by_age_*``).

    Promotion judges a candidate against its baselines from these: the figures its training
    printed, for every version likecast ever registered.
    """
    prefix = "evaluation/metrics_by_age_"
    tables = {}
    with tempfile.TemporaryDirectory() as tmp:
        for artifact in client.list_artifacts(run_id, "evaluation"):
            if artifact.path.startswith(prefix) and artifact.path.endswith(".csv"):
                path = client.download_artifacts(run_id, artifact.path, tmp)
                name = artifact.path.removeprefix(prefix).removesuffix(".csv")
                tables[name] = pd.read_csv(
                    path, index_col="age_minutes", dtype={"age_minutes": str}
                )
    return tables


def version_summary(client: MlflowClient, name: str) -> list[dict[str, Any]]:
    """Every version with its key test metrics and aliases, newest first."""
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        raise TrackingError(f"cannot list {name}: {exc.message}") from exc
    if not versions:  # nor is the model registered, so it has no aliases to read
        return []
    aliases: dict[str, list[str]] = {}
    for alias, number in client.get_registered_model(name).aliases.items():
        aliases.setdefault(str(number), []).append(alias)
    out = []
    for v in sorted(versions, key=lambda v: int(v.version), reverse=True):
        metrics = client.get_run(v.run_id).data.metrics if v.run_id else {}
        out.append(
            {
                "version": str(v.version),
                "aliases": aliases.get(str(v.version), []),
                "created": pd.Timestamp(v.creation_timestamp, unit="ms", tz="UTC").isoformat(),
                "run_id": v.run_id,
                # None for versions registered before the target was tagged
                "target": Target.from_tags(v.tags or {}),
                **{k: metrics.get(f"test_{k}") for k in SUMMARY_METRICS},
            }
        )
    return out
