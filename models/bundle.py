"""The saved model: LightGBM text, calibrator JSON, feature spec JSON, metadata JSON.

Nothing in a bundle is pickled, so loading one never executes code; the same directory is
what MLflow stores, what the service loads and what ``likecast score --model DIR`` reads.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd

from features.ages import answering_ages, moved_to, pace_tail, place
from features.arrays import RowArrays, frame_arrays
from features.catalog import BY_NAME
from features.labels import known_outcome, with_known_outcomes
from features.matrix import build_features, feature_matrix
from features.rows import RAW_COLUMNS
from features.spec import FeatureSpec
from likecast.atomic import replacing
from likecast.errors import UserError
from likecast.zones import known_time_zone
from models.blend import Blend
from models.calibration import Calibration, Calibrator
from models.curves import Curves
from models.estimator import to_matrix
from models.meta import BundleMeta, MetaError
from models.reference import Reference
from models.row_scorer import RowScorer

# Below this many rows (a request-sized batch: at most 1,000 items) LightGBM predicts on one
# thread: with the other core busy, as in a loaded server, OpenMP waiting for a second thread
# cost more than it saved.
ONE_THREAD_BELOW_ROWS = 2_048
FILES = {
    "booster": "model.txt",
    "calibrator": "calibrator.json",
    "spec": "feature_spec.json",
    "meta": "meta.json",
}
# optional: a bundle saved before drift monitoring has none, and loads without it
REFERENCE_FILE = "reference.json"
# optional: a bundle saved before the like curves (models.curves) answers without `compared`
CURVES_FILE = "curves.json"


class BundleError(UserError):
    """A bundle is missing, unreadable or inconsistent: the CLI says so in one line."""


@dataclass(frozen=True)
class Answers:
    """Probabilities as served: the counts' outcome where they settle it, else the model's."""

    probability: np.ndarray
    reached: np.ndarray  # the threshold was reached by the horizon: probability 1
    decided: np.ndarray  # the counts settle the outcome: probability 1 or 0
    low: np.ndarray  # the 80% interval; NaN from a model saved before intervals existed
    high: np.ndarray


@dataclass
class ModelBundle:
    booster: lgb.Booster
    calibrator: Calibration  # a Blend; a Calibrator in bundles saved before the blend
    spec: FeatureSpec
    meta: BundleMeta = field(default_factory=BundleMeta)  # nothing recorded while training
    reference: Reference | None = None  # the drift reference (models.reference), if built
    curves: Curves | None = None  # the training videos' like curves (models.curves), if built
    _row_scorer: RowScorer | None = field(default=None, init=False, repr=False, compare=False)

    def raw_score(self, features: pd.DataFrame) -> np.ndarray:
        """LightGBM's raw scores (log-odds, before calibration) of a feature frame."""
        return np.asarray(self.booster.predict(to_matrix(features), raw_score=True))

    def row_scorer(self) -> RowScorer:
        """LightGBM's single-row scorer of this booster, made once on first use and shared by
        every one-row answer (the batch path's and ``serving.core.one_row``'s)."""
        if self._row_scorer is None:
            self._row_scorer = RowScorer(self.booster)
        return self._row_scorer

    def predict_matrix(self, matrix: np.ndarray) -> np.ndarray:
        """Calibrated probability of reaching the threshold within the horizon."""
        if len(matrix) == 1:
            log_odds = np.array([self.row_scorer().log_odds(matrix[0])])
        elif len(matrix) < ONE_THREAD_BELOW_ROWS:
            log_odds = np.asarray(self.booster.predict(matrix, raw_score=True, num_threads=1))
        else:
            log_odds = np.asarray(self.booster.predict(matrix, raw_score=True))
        return self.calibrator.probability(matrix, log_odds, self.spec)

    def interval(self, matrix: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The 80% interval of probabilities ``p`` of the matrix's rows (NaN without one)."""
        return self.calibrator.interval(p, matrix[:, self.spec.positions["age_minutes"]])

    def answer_matrix(self, matrix: np.ndarray, arrays: RowArrays) -> Answers:
        """Answers for rows whose raw columns (likes and ages) are in ``arrays``.

        Only the rows the counts leave open go to the model: it was trained on those alone.
        """
        reached, decided = known_outcome(
            arrays["likes"],
            arrays["obs_age_minutes"],
            arrays["age_minutes"],
            self.spec.threshold,
            self.spec.horizon_minutes,
            lag_likes=arrays["lag1_likes"],
            lag_age_minutes=arrays["lag1_age_minutes"],
        )
        if not decided.any():
            p, low, high = self.at_ages(matrix, arrays)
            return Answers(p, reached, decided, low, high)
        probability, low, high = np.zeros(len(matrix)), np.zeros(len(matrix)), np.zeros(len(matrix))
        if not decided.all():
            open_ = ~decided
            rows = {name: values[open_] for name, values in arrays.items()}
            probability[open_], low[open_], high[open_] = self.at_ages(matrix[open_], rows)
        known = with_known_outcomes(probability, reached, decided)
        low[decided], high[decided] = known[decided], known[decided]  # the counts are certain
        return Answers(known, reached, decided, low, high)

    def at_ages(
        self, matrix: np.ndarray, arrays: RowArrays
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probability, low, high) of open rows at their own ages (``features.ages``): a row
        at a trained age as trained; one between two from both, weighted by where its age
        lies; one past the last from it and the horizon's count rule."""
        spec = self.spec
        placed = place(arrays, self._grid, spec.horizon_minutes)
        if placed.exact.all():
            p = self.predict_matrix(matrix)
            return (p, *self.interval(matrix, p))
        p, low, high = np.empty(len(matrix)), np.empty(len(matrix)), np.empty(len(matrix))
        exact = placed.exact
        if exact.any():
            p[exact] = self.predict_matrix(matrix[exact])
            low[exact], high[exact] = self.interval(matrix[exact], p[exact])
        rest = ~exact
        rows = {name: values[rest] for name, values in arrays.items()}
        weight, end = placed.weight[rest], placed.end[rest]
        lower = placed.lower[rest]
        answers = np.array(self._model_at(moved_to(rows, lower, lower)))
        middle = ~end & (weight > 0)
        if middle.any():
            upper = {name: values[middle] for name, values in rows.items()}
            moved = moved_to(upper, placed.upper[rest][middle], lower[middle])
            answers[:, middle] *= 1 - weight[middle]
            answers[:, middle] += weight[middle] * np.array(self._model_at(moved))
        late = end & (weight > 0)
        if late.any():
            last = {name: values[late] for name, values in rows.items()}
            tail = pace_tail(last, spec.threshold, spec.horizon_minutes)
            answers[:, late] = (1 - weight[late]) * answers[:, late] + weight[late] * tail
        p[rest], low[rest], high[rest] = answers
        return p, np.minimum(low, p), np.maximum(high, p)

    def _model_at(self, rows: RowArrays) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(probability, low, high) of rows asked at a trained age."""
        matrix = feature_matrix(rows, self.spec)
        p = self.predict_matrix(matrix)
        return (p, *self.interval(matrix, p))

    @cached_property
    def _grid(self) -> np.ndarray:
        return answering_ages(self.spec.ages, self.spec.horizon_minutes)

    def answer_rows(self, rows: pd.DataFrame) -> Answers:
        """Answers for batch raw rows (``features.rows.RAW_COLUMNS``)."""
        arrays = frame_arrays(rows, RAW_COLUMNS)
        return self.answer_matrix(feature_matrix(arrays, self.spec), arrays)

    def predict_features(self, features: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of a feature frame."""
        return self.predict_matrix(to_matrix(features))

    def predict_rows(self, rows: pd.DataFrame) -> np.ndarray:
        """Calibrated probabilities of batch raw rows (the model alone, no known outcomes)."""
        return self.predict_features(build_features(rows, self.spec))

    def contributions(self, features: pd.DataFrame) -> pd.DataFrame:
        """Per-feature log-odds contributions (SHAP values); last column is the base value."""
        values = self.booster.predict(to_matrix(features), pred_contrib=True)
        return pd.DataFrame(values, columns=[*features.columns, "_base"], index=features.index)

    def pushes(self, matrix: np.ndarray) -> np.ndarray:
        """SHAP values of the matrix's rows, one column per feature and the base value last
        (``contributions`` without a frame, as the service's explanations need them)."""
        threads = 1 if len(matrix) < ONE_THREAD_BELOW_ROWS else 0  # 0: OpenMP's default
        return np.asarray(self.booster.predict(matrix, pred_contrib=True, num_threads=threads))

    def probability_without(
        self, matrix: np.ndarray, contributions: np.ndarray, probability: np.ndarray
    ) -> np.ndarray:
        """The served probability of each row with each feature's push taken out of
        LightGBM's log-odds, one column per feature (``contributions`` without its base)."""
        ages = matrix[:, self.spec.positions["age_minutes"]]
        return self.calibrator.without(contributions, probability, ages)

    def to_texts(self) -> dict[str, str]:
        """The bundle's files as text, to ship to another process (no pickle involved)."""
        texts = {
            FILES["booster"]: self.booster.model_to_string(),
            FILES["calibrator"]: self.calibrator.to_json(),
            FILES["spec"]: self.spec.to_json(),
            FILES["meta"]: self.meta.to_json(),
        }
        if self.reference is not None:
            texts[REFERENCE_FILE] = self.reference.to_json()
        if self.curves is not None:
            texts[CURVES_FILE] = self.curves.to_json()
        return texts

    @classmethod
    def from_texts(cls, texts: dict[str, str]) -> ModelBundle:
        bundle = cls(
            booster=lgb.Booster(model_str=texts[FILES["booster"]]),
            calibrator=read_calibration(texts[FILES["calibrator"]]),
            spec=FeatureSpec.from_json(texts[FILES["spec"]]),
            meta=read_meta(texts[FILES["meta"]], "shipped bundle"),
            reference=read_reference(texts.get(REFERENCE_FILE), "shipped bundle"),
            curves=read_curves(texts.get(CURVES_FILE), "shipped bundle"),
        )
        bundle.check()
        return bundle

    def save(self, folder: Path) -> Path:
        """Write all files to a temporary folder, then move it into place."""
        folder = Path(folder)
        with replacing(folder) as tmp:
            tmp.mkdir()
            self.booster.save_model(tmp / FILES["booster"])
            (tmp / FILES["calibrator"]).write_text(self.calibrator.to_json())
            (tmp / FILES["spec"]).write_text(self.spec.to_json())
            (tmp / FILES["meta"]).write_text(self.meta.to_json(indent=2))
            if self.reference is not None:
                (tmp / REFERENCE_FILE).write_text(self.reference.to_json())
            if self.curves is not None:
                (tmp / CURVES_FILE).write_text(self.curves.to_json())
        return folder

    @classmethod
    def load(cls, folder: Path) -> ModelBundle:
        folder = Path(folder)
        missing = [name for name in FILES.values() if not (folder / name).is_file()]
        if missing:
            raise BundleError(
                f"{folder}: not a likecast model bundle (missing {', '.join(missing)})"
            )
        for name in [*FILES.values(), REFERENCE_FILE]:
            # a fetched version's files are what was registered: never a file elsewhere on
            # this machine that a link inside the bundle points to
            if not (folder / name).resolve().is_relative_to(folder.resolve()):
                raise BundleError(f"{folder}: its {name} links to a file outside the bundle")
        try:
            _check_booster_text(folder / FILES["booster"])
            bundle = cls(
                booster=lgb.Booster(model_file=str(folder / FILES["booster"])),
                calibrator=read_calibration((folder / FILES["calibrator"]).read_text()),
                spec=FeatureSpec.from_json((folder / FILES["spec"]).read_text()),
                meta=read_meta((folder / FILES["meta"]).read_text(), str(folder)),
                reference=read_reference(_text_if_any(folder / REFERENCE_FILE), str(folder)),
                curves=read_curves(_text_if_any(folder / CURVES_FILE), str(folder)),
            )
        except (lgb.basic.LightGBMError, ValueError, TypeError, KeyError, OSError) as exc:
            raise BundleError(f"{folder}: unreadable model bundle ({exc})") from exc
        bundle.check()
        return bundle

    def check(self) -> None:
        """The booster must expect exactly the spec's features, and this code compute them;
        its calibrator's numbers must be finite and its clock a known zone. Every way of
        loading a bundle (a folder, the registry, a fetched version) comes through here."""
        if list(self.booster.feature_name()) != list(self.spec.features):
            raise BundleError(
                "model features do not match its feature spec: "
                f"{self.booster.feature_name()} vs {list(self.spec.features)}"
            )
        if not self.spec.ages:
            raise BundleError("model does not record the ages it was trained at: retrain it")
        unknown = [name for name in self.spec.features if name not in BY_NAME]
        if unknown:
            raise BundleError(
                f"trained on features this version does not compute ({', '.join(unknown)}): "
                "retrain it"
            )
        bad = not_finite(json.loads(self.calibrator.to_json()))
        if bad is not None:
            # NaN weights make every answer NaN: batch files of empty probabilities
            raise BundleError(f"its calibrator holds {bad}, which is not a finite number")
        try:
            known_time_zone(self.spec.timezone)
        except ValueError as exc:
            raise BundleError(f"its feature spec's timezone: {exc}") from exc


def not_finite(value: object, where: str = "") -> str | None:
    """Where in a JSON value (``ages[2].weights[0] = nan``) the first number is NaN or
    infinite; None when every number is finite."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{where or 'a number'} = {value}"
    if isinstance(value, dict):
        items: list[tuple[str, object]] = [
            (f"{where}.{key}" if where else str(key), v) for key, v in value.items()
        ]
    elif isinstance(value, list):
        items = [(f"{where}[{i}]", v) for i, v in enumerate(value)]
    else:
        return None
    for spot, inner in items:
        found = not_finite(inner, spot)
        if found is not None:
            return found
    return None


def read_meta(text: str, where: str) -> BundleMeta:
    """The bundle's record, upgraded from an older format; ``where`` names the bundle in
    the one-line error."""
    try:
        return BundleMeta.from_json(text)
    except MetaError as exc:
        raise BundleError(f"{where}: {exc}") from exc


def read_reference(text: str | None, where: str) -> Reference | None:
    """The bundle's drift reference; None for a bundle saved before it existed."""
    if text is None:
        return None
    try:
        return Reference.from_json(text)
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        raise BundleError(f"{where}: unreadable {REFERENCE_FILE} ({reason})") from exc


def read_curves(text: str | None, where: str) -> Curves | None:
    """The bundle's like curves; None for a bundle saved before they existed."""
    if text is None:
        return None
    try:
        return Curves.from_json(text)
    except ValueError as exc:
        reason = str(exc).splitlines()[0]
        raise BundleError(f"{where}: unreadable {CURVES_FILE} ({reason})") from exc


def _text_if_any(path: Path) -> str | None:
    return path.read_text() if path.is_file() else None


def read_calibration(text: str) -> Calibration:
    """The bundle's last step from its JSON: a blend, or an older bundle's calibrator."""
    if json.loads(text).get("method") == "blend":
        return Blend.from_json(text)
    return Calibrator.from_json(text)


def _check_booster_text(path: Path) -> None:
    """LightGBM prints its own "[Fatal]" line before raising on a file that is no model, so
    such a file is refused here first, and the CLI's error stays one line."""
    with path.open("rb") as handle:
        first = handle.readline(64).strip()
    if first != b"tree":
        raise ValueError(f"{path.name} is not a LightGBM model")
