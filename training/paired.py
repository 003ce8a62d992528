"""Two models compared on the same test rows, with the noise of those rows.

Promotion refuses a candidate that is measurably worse than the champion, not one whose
small loss a different draw of test videos would reverse (docs/adr/0059). The interval of
each difference comes from resampling the videos (a video's rows go together: they share
one outcome), both models on the same resample, so the noise they share cancels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from training.metrics import METRIC_WORDS, row_log_loss, score
from training.monitor.estimate import Ranking, shared_draws

DRAWS = 200  # resamples of the test videos; the 5% and 95% quantiles settle by then
# A candidate is called worse when at least this share of resamples says so (one-sided):
# the interval printed is the two-sided one with this share outside each end.
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Difference:
    """Candidate minus champion on one metric, with its interval over resampled videos."""

    metric: str  # "roc_auc" or "log_loss"
    value: float
    low: float
    high: float

    @property
    def worse(self) -> bool:
        """The whole interval lies on the candidate's losing side."""
        return self.high < 0 if self.metric == "roc_auc" else self.low > 0

    def words(self) -> str:
        """ "ROC AUC -0.0123 (90% interval -0.0180 to -0.0071)"."""
        level = round(100 * (2 * CONFIDENCE - 1))
        return (
            f"{METRIC_WORDS[self.metric]} {self.value:+.4f} "
            f"({level}% interval {self.low:+.4f} to {self.high:+.4f})"
        )


def paired_differences(
    y: np.ndarray,
    candidate: np.ndarray,
    champion: np.ndarray,
    video_id: np.ndarray,
    seed: int,
    draws: int = DRAWS,
) -> list[Difference]:
    """ROC AUC and log loss of ``candidate`` minus ``champion`` (probabilities of the same
    rows, labels ``y``), each with its interval over ``draws`` resamples of the videos."""
    y = np.asarray(y, dtype="float64")
    codes = shared_draws(video_id)
    videos = int(codes.max()) + 1 if len(codes) else 0
    ours, theirs = Ranking(candidate), Ranking(champion)
    loss_gap = row_log_loss(y, candidate) - row_log_loss(y, champion)
    rng = np.random.default_rng(seed)
    auc_gaps, log_gaps = np.full(draws, np.nan), np.full(draws, np.nan)
    for k in range(draws):
        times = np.bincount(rng.integers(0, videos, videos), minlength=videos)[codes] * 1.0
        hit, miss = times * y, times * (1 - y)
        auc_gaps[k] = ours.auc(hit, miss) - theirs.auc(hit, miss)
        log_gaps[k] = float(np.dot(times, loss_gap) / times.sum())
    point = {"roc_auc": score(y, candidate)["roc_auc"] - score(y, champion)["roc_auc"]}
    point["log_loss"] = float(loss_gap.mean())
    tail = 1 - CONFIDENCE
    found = []
    for metric, gaps in (("roc_auc", auc_gaps), ("log_loss", log_gaps)):
        if np.isfinite(gaps).any():
            low, high = np.nanquantile(gaps, [tail, 1 - tail])
        else:  # no resample held both classes: nothing is measurable
            low, high = -np.inf, np.inf
        found.append(Difference(metric, point[metric], float(low), float(high)))
    return found
