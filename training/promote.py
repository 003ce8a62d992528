"""Guarded promotion: the serving alias moves only to a model at least as good as the champion.

Both are scored on the candidate's own test slice (the newest data either has seen), so the
comparison is like for like; ``force`` exists for rollbacks and first deployments.
"""

from __future__ import annotations

from dataclasses import dataclass

from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from features.settings import Settings
from training.connection import TrackingError
from training.metrics import score
from training.registry import load_model, resolve_version
from training.tracking import read_test_rows

TOLERANCE = 1e-9  # identical models must compare equal despite float noise


@dataclass(frozen=True)
class Decision:
    candidate: str
    champion: str | None
    moved: bool
    reason: str
    candidate_metrics: dict[str, float] | None = None
    champion_metrics: dict[str, float] | None = None


def promote(
    client: MlflowClient,
    settings: Settings,
    alias: str,
    version: str | None = None,
    force: bool = False,
) -> Decision:
    name = settings.model_name
    candidate = version or _newest(client, name)
    resolve_version(client, f"models:/{name}/{candidate}")
    try:
        champion = str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        champion = None

    if champion == candidate:
        return Decision(candidate, champion, False, f"version {candidate} already holds @{alias}")
    if force or champion is None:
        client.set_registered_model_alias(name, alias, candidate)
        why = "forced" if force else f"no version held @{alias}"
        return Decision(candidate, champion, True, why)

    cand = load_model(f"models:/{name}/{candidate}", settings)
    champ = load_model(f"models:/{name}/{champion}", settings)
    rows = read_test_rows(client, cand.run_id)
    y = rows.pop("label").to_numpy()
    ours = score(y, cand.bundle.predict_rows(rows))
    theirs = score(y, champ.bundle.predict_rows(rows))
    better_loss = ours["log_loss"] <= theirs["log_loss"] + TOLERANCE
    better_auc = ours["roc_auc"] >= theirs["roc_auc"] - TOLERANCE
    moved = better_loss and better_auc
    if moved:
        client.set_registered_model_alias(name, alias, candidate)
        reason = "at least as good on log loss and ROC AUC"
    else:
        worse = [m for m, ok in (("log loss", better_loss), ("ROC AUC", better_auc)) if not ok]
        reason = f"worse on {' and '.join(worse)}; alias stays"
    return Decision(candidate, champion, moved, reason, ours, theirs)


def _newest(client: MlflowClient, name: str) -> str:
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        raise TrackingError(f"cannot list {name}: {exc.message}") from exc
    if not versions:
        raise TrackingError(f"no versions of {name} registered yet; run `likecast train` first")
    return str(max(int(v.version) for v in versions))
