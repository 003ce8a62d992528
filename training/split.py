"""Splitting by posting time, so the test set mimics the future the model will face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from likecast.errors import UserError

SLICES = ("train", "valid", "calib", "test")
# The model that serves should learn from the most recent videos it can, and a 10% test
# slice still settles the comparison with the baselines (docs/adr/0007).
DEFAULT_SHARES = {"train": 0.70, "valid": 0.10, "calib": 0.10, "test": 0.10}
MIN_VIDEOS = 200


@dataclass(frozen=True)
class Split:
    """Each labeled video's slice, and when each slice starts."""

    slices: np.ndarray  # each labeled video's slice name, in the order the videos came
    cutoffs: dict[str, str]  # first posting time of each slice


def split_by_time(labeled: pd.DataFrame, shares: dict[str, float] = DEFAULT_SHARES) -> Split:
    """Slice labeled videos by posting time: train < valid (early stopping) < calib < test."""
    posted = labeled["posted_at"].dt.as_unit("ns").array.asi8  # int64: no object per row
    ordered = np.sort(posted)
    cutoffs = cutoff_times(ordered, shares)
    slices = slice_names(posted, cutoffs)
    check_slices(slice_counts(slices, labeled["label"].to_numpy()))
    return Split(slices, cutoff_labels(int(ordered[0]), cutoffs))


def cutoff_times(
    posted_sorted: np.ndarray, shares: dict[str, float] = DEFAULT_SHARES
) -> np.ndarray:
    """The first posting time (int64 ns) of each slice after the first, at the shares' bounds.

    A slice is everything posted at or after its cutoff and before the next one, so videos
    posted in the same instant share a slice: the training engines agree without comparing
    video ids, and no test video shares a moment with a training one.
    """
    n = len(posted_sorted)
    if n < MIN_VIDEOS:
        raise UserError(
            f"only {n} labeled videos; training needs at least {MIN_VIDEOS} "
            "(videos whose horizon has passed)"
        )
    bounds = np.cumsum([shares[s] for s in SLICES])[:-1]
    first = np.ceil(bounds * n - 1e-9).astype(np.int64)  # the first position i with i/n >= bound
    return posted_sorted[np.minimum(first, n - 1)]


def slice_names(posted: np.ndarray, cutoffs: np.ndarray) -> np.ndarray:
    """Each video's slice name from its posting time (int64 ns)."""
    return np.array(SLICES)[np.searchsorted(cutoffs, posted, side="right")]


def slice_counts(slices: np.ndarray, labels: np.ndarray) -> pd.DataFrame:
    """Videos and hits per slice: what ``check_slices`` judges, summable across partitions."""
    frame = pd.DataFrame({"slice": slices, "hits": labels.astype(np.int64)})
    counts = frame.groupby("slice").agg(videos=("hits", "size"), hits=("hits", "sum"))
    return counts.reindex(list(SLICES), fill_value=0)


def check_slices(counts: pd.DataFrame) -> None:
    """Refuse a split where a slice is empty or holds a single class."""
    for name, row in counts.iterrows():
        videos, hits = int(row["videos"]), int(row["hits"])
        if hits in (0, videos):
            one = "empty" if videos == 0 else int(hits == videos)
            raise UserError(
                f"the {name} slice has a single class ({one}): "
                "the threshold is never (or always) reached; lower --threshold or add data"
            )


def cutoff_labels(first: int, cutoffs: np.ndarray) -> dict[str, str]:
    """When each slice starts (the first posting time, then the cutoffs), as runs and
    bundles record it."""
    starts = [first, *(int(t) for t in cutoffs)]
    return {s: str(pd.Timestamp(t, tz="UTC")) for s, t in zip(SLICES, starts, strict=True)}
