"""Guarded promotion: the serving alias moves only to a model not measurably worse than the
champion and beaten by none of its baselines.

Both models are scored on the candidate's own test slice (the newest data either has seen), so
the comparison is like for like; the candidate is refused when resampling those videos shows it
worse on ROC AUC or log loss, not for a difference their noise could explain (docs/adr/0059).
The baselines are judged from the candidate run's logged metrics by age, by the rule training
printed (``training.metrics.baseline_beats``). A candidate that predicts another target than
the champion (another threshold or horizon) is refused before any comparison: its metrics
measure another question, and the creator store serving the champion was built for the
champion's target. ``force`` exists for rollbacks, first deployments
and a deliberate change of target.

Two promotions at once must not both compare with the old champion and then both move the
alias (the worse one last): the whole decision runs under a file lock shared by every
``likecast promote`` using this LIKECAST_HOME and registry, and the alias is read again just
before it moves; if someone else moved it meanwhile, the candidate is compared again.
"""

from __future__ import annotations

import fcntl
import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from likecast.settings import Settings
from likecast.target import Target
from models.mlflow_client import TrackingError
from models.registry import load_model, resolve_version, version_target
from training.metrics import baseline_beats, describe_beats, disqualifying, score
from training.paired import paired_differences
from training.tracking import read_tables, read_test_rows

ATTEMPTS = 3  # comparisons before giving up on an alias that keeps moving


@dataclass(frozen=True)
class Decision:
    """What a promotion decided, why, and the metrics it compared."""

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
    """Move ``alias`` to ``version`` (default: the newest) if it is not measurably worse.

    Raises:
        TrackingError: The version is not registered, or the alias kept moving.
    """
    name = settings.model_name
    with promotion_lock(settings, name):
        candidate = version or _newest(client, name)
        resolve_version(client, f"models:/{name}/{candidate}")
        for _ in range(ATTEMPTS):
            champion = _holder(client, name, alias)
            if champion == candidate:
                return Decision(
                    candidate, champion, False, f"version {candidate} already holds @{alias}"
                )
            if force:
                decision = Decision(
                    candidate, champion, True, _forced(client, name, candidate, champion)
                )
            else:
                decision = _judge(client, settings, candidate, champion, alias)
            if not decision.moved:
                return decision
            if _holder(client, name, alias) == champion:  # compare-and-set
                client.set_registered_model_alias(name, alias, candidate)
                return decision
        raise TrackingError(
            f"@{alias} of {name} kept moving while version {candidate} was compared; try again"
        )


@contextmanager
def promotion_lock(settings: Settings, name: str) -> Iterator[None]:
    """One promotion at a time per registry and model, across processes sharing the home."""
    key = hashlib.sha256(f"{settings.resolved_tracking_uri}\0{name}".encode()).hexdigest()[:16]
    folder = settings.home / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / f"promote-{key}.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when the file closes, even on a crash
        yield


def _holder(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def _judge(
    client: MlflowClient, settings: Settings, candidate: str, champion: str | None, alias: str
) -> Decision:
    """The candidate against the champion (if any) and against its baselines; every reason
    it falls short, in one line."""
    if champion is None:
        decision = Decision(candidate, None, True, f"no version held @{alias}")
    else:
        differs = _target_change(client, settings, candidate, champion)
        if differs:
            return Decision(
                candidate, champion, False, f"{differs}; promote it with --force to change target"
            )
        decision = _compare(client, settings, candidate, champion)
    beats = disqualifying(baseline_beats(_logged_tables(client, settings.model_name, candidate)))
    if not beats:
        return decision
    lost = f"version {candidate} loses to a baseline: {describe_beats(beats)}"
    reason = f"{decision.reason}; {lost}" if not decision.moved else lost
    return replace(decision, moved=False, reason=reason)


def _target_change(
    client: MlflowClient, settings: Settings, candidate: str, champion: str
) -> str | None:
    """What differs between the two versions' targets, in one line; None when nothing does."""
    name = settings.model_name
    ours = version_target(client.get_model_version(name, candidate), settings)
    theirs = version_target(client.get_model_version(name, champion), settings)
    if ours == theirs:
        return None
    return (
        f"version {candidate} predicts {ours}, the champion (version {champion}) {theirs}: "
        f"{ours.differences(theirs)}"
    )


def _forced(client: MlflowClient, name: str, candidate: str, champion: str | None) -> str:
    """Why a forced move happened, and, when it changes the target, what the serving side
    must rebuild. Read from the versions' tags only: a forced rollback must not depend on
    downloading a champion that may be broken."""
    if champion is None:
        return "forced"
    ours = Target.from_tags(client.get_model_version(name, candidate).tags or {})
    theirs = Target.from_tags(client.get_model_version(name, champion).tags or {})
    if ours is None or theirs is None or ours == theirs:
        return "forced"
    return (
        f"forced, changing the target from {theirs} to {ours}; materialize the creator store "
        f"for it: likecast features materialize --data DIR {ours.options()}"
    )


def _logged_tables(client: MlflowClient, name: str, version: str) -> dict[str, pd.DataFrame]:
    """The candidate run's metrics by age bucket, for LightGBM and each baseline."""
    run_id = client.get_model_version(name, version).run_id
    tables = read_tables(client, run_id) if run_id else {}
    if "lightgbm" not in tables:
        raise TrackingError(
            f"version {version} of {name} has no logged test metrics by age to check against "
            "its baselines; promote it with --force if it should serve anyway"
        )
    return tables


def _compare(client: MlflowClient, settings: Settings, candidate: str, champion: str) -> Decision:
    """Both versions scored on the candidate's test slice."""
    name = settings.model_name
    cand = load_model(f"models:/{name}/{candidate}", settings)
    champ = load_model(f"models:/{name}/{champion}", settings)
    if cand.run_id is None:
        raise TrackingError(
            f"version {candidate} of {name} has no run: no test slice to compare on"
        )
    rows = read_test_rows(client, cand.run_id)
    y = rows.pop("label").to_numpy()
    p_ours, p_theirs = cand.bundle.predict_rows(rows), champ.bundle.predict_rows(rows)
    differences = paired_differences(
        y, p_ours, p_theirs, rows["video_id"].to_numpy(), settings.seed
    )
    worse = [d for d in differences if d.worse]
    said = "; ".join(d.words() for d in (worse or differences))
    if worse:
        reason = f"measurably worse: {said}"
    else:
        reason = f"not measurably worse on ROC AUC or log loss: {said}"
    return Decision(candidate, champion, not worse, reason, score(y, p_ours), score(y, p_theirs))


def _newest(client: MlflowClient, name: str) -> str:
    try:
        versions = client.search_model_versions(f"name = '{name}'")
    except MlflowException as exc:
        raise TrackingError(f"cannot list {name}: {exc.message}") from exc
    if not versions:
        raise TrackingError(f"no versions of {name} registered yet; run `likecast train` first")
    return str(max(int(v.version) for v in versions))
