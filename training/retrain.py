"""The loop: train on the newest data for the champion's target with its parameters, then let
guarded promotion decide, and record why.

The candidate keeps what the champion was built with (its threshold and horizon from its
bundle, its LightGBM parameters from its training run), so the only change is the data; the
comparison is ``training.promote``'s: both models scored on the candidate's own test slice,
the newest rows either has seen, and the candidate checked against its baselines.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mlflow.tracking import MlflowClient

from features.loading import Dataset
from likecast.errors import UserError
from likecast.settings import Settings
from models.params import PARAM_SCHEMA, params_problems
from models.registry import LoadedModel, load_model
from training.promote import Decision, promote
from training.tracking import log_and_register
from training.train import fit

# the candidate's training run carries these tags: what retrain decided and why
DECISION_TAG = "likecast.retrain.decision"
REASON_TAG = "likecast.retrain.reason"
CHAMPION_TAG = "likecast.retrain.champion"


@dataclass(frozen=True)
class Retrained:
    """The champion retrained from, the candidate's version and run, and promote's decision."""

    champion: str | None
    candidate: str
    run_id: str
    decision: Decision


def champion_params(client: MlflowClient, champion: LoadedModel) -> dict[str, Any]:
    """The LightGBM parameters the champion's run trained with, as a params file gives them.

    MLflow keeps a run's parameters as text; each is read back as the kind its schema wants
    (``models.params``) and checked as a params file is. A champion without a run (registered
    by hand) trains with the defaults.
    """
    if champion.run_id is None:
        return {}
    logged = client.get_run(champion.run_id).data.params
    params = {key: _typed(value) for key, value in logged.items() if key in PARAM_SCHEMA}
    problems = params_problems(params)
    if problems:
        raise UserError(
            f"the champion's run {champion.run_id} logged parameters retrain cannot reuse: "
            f"{problems[0]}"
        )
    return params


def _typed(text: str) -> Any:
    """A logged parameter's text as the value it was: bool, int, float or text."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            continue
    return text


def champion_settings(settings: Settings, champion: LoadedModel) -> Settings:
    """The settings with the champion's target and age grid: the candidate must answer the
    same question at the same ages, or the comparison by age would not be like for like."""
    spec = champion.bundle.spec
    update = {"threshold": spec.threshold, "horizon_days": spec.horizon_minutes / 1440}
    return settings.model_copy(update={**update, "ages_minutes": spec.ages})


def retrain(
    client: MlflowClient,
    settings: Settings,
    dataset: Dataset,
    fingerprint: dict[str, Any],
    experiment: str,
    force: bool = False,
    advance: Callable[[str], None] = lambda _s: None,
) -> Retrained:
    """Train a candidate on ``dataset`` as the champion was trained, register it, and promote
    it if it is not measurably worse (``force``: whatever it scores).

    Raises:
        UserError: There is no champion to retrain (train and promote one first).
    """
    champion = load_model(settings.champion_uri, settings)
    settings = champion_settings(settings, champion)
    params = champion_params(client, champion)
    outcome = fit(dataset, settings, params, advance)
    registered = log_and_register(outcome, fingerprint, settings, experiment, advance)
    decision = promote(client, settings, settings.alias, registered.version, force)
    client.set_tag(registered.run_id, DECISION_TAG, "promoted" if decision.moved else "refused")
    client.set_tag(registered.run_id, REASON_TAG, decision.reason)
    client.set_tag(registered.run_id, CHAMPION_TAG, champion.version or "-")
    for side, figures in (
        ("candidate", decision.candidate_metrics),
        ("champion", decision.champion_metrics),
    ):
        for name in ("roc_auc", "log_loss"):
            if figures and name in figures:
                client.log_metric(registered.run_id, f"retrain_{side}_{name}", figures[name])
    return Retrained(champion.version, registered.version, registered.run_id, decision)
