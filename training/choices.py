"""Does a draft choice (posting time, duration, caption...) measurably matter, so that the
what-if and the explanations may advise on it?

A model can answer differently at each posting hour because it learned noise. The test is
on held-out drafts (the calib slice at age 0): shuffle the choice's features across them and
see whether the answers' log loss gets worse by more than twice its standard error. If it
does not, the what-if says the choice makes no measurable difference.
"""

from __future__ import annotations

import numpy as np

from features.catalog import CATALOG
from models.bundle import ModelBundle

# each draft choice of the catalogue and the features it sets
CHOICES: dict[str, tuple[str, ...]] = {
    name: tuple(f.name for f in CATALOG if f.choices and f.choices.measured_as == name)
    for name in dict.fromkeys(f.choices.measured_as for f in CATALOG if f.choices)
}
MIN_ROWS = 200  # fewer held-out drafts cannot show an effect: the choice is not measurable


def draft_choices(
    bundle: ModelBundle,
    matrix: np.ndarray,
    y: np.ndarray,
    seed: int,
    choices: dict[str, tuple[str, ...]] = CHOICES,
) -> dict:
    """For each choice: the log loss increase when it is shuffled, its standard error, and
    whether the increase is measurable (above twice the error).

    Args:
        bundle: The trained bundle, blend included.
        matrix: Feature matrix of held-out drafts (age 0), none seen in training.
        y: Their labels.
        seed: Seed of the shuffle.
        choices: Each choice's name and the features it sets.
    """
    at = bundle.spec.positions
    before = _losses(bundle.predict_matrix(matrix), y)
    order = np.random.default_rng(seed).permutation(len(matrix))
    found = {}
    for choice, features in choices.items():
        columns = [at[f] for f in features if f in at]
        shuffled = matrix.copy()
        shuffled[:, columns] = matrix[order][:, columns]
        increase = _losses(bundle.predict_matrix(shuffled), y) - before
        mean = float(increase.mean()) if len(y) else 0.0
        error = float(increase.std(ddof=1) / np.sqrt(len(y))) if len(y) > 1 else float("inf")
        found[choice] = {
            "loss_increase": mean,
            "standard_error": error,
            "measurable": bool(len(y) >= MIN_ROWS and columns and mean > 2 * error),
        }
    return found


def _losses(p: np.ndarray, y: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return -(y * np.log(p) + (1 - y) * np.log1p(-p))
