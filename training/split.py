"""Splitting by posting time, so the test set mimics the future the model will face."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from likecast.errors import UserError

SLICES = ("train", "valid", "calib", "test")
# The model that serves should learn from the most recent videos it can, and a 10% test
# slice still settles the comparison with the baselines (docs/decisions.md, "shares").
DEFAULT_SHARES = {"train": 0.70, "valid": 0.10, "calib": 0.10, "test": 0.10}
MIN_VIDEOS = 200


@dataclass(frozen=True)
class Split:
    """Each labeled video's slice, and when each slice starts."""

    slices: np.ndarray  # each labeled video's slice name, in the order the videos came
    cutoffs: dict[str, str]  # first posting time of each slice


def split_by_time(labeled: pd.DataFrame, shares: dict[str, float] = DEFAULT_SHARES) -> Split:
    """Slice labeled videos by posting time: train < valid (early stopping) < calib < test."""
    if len(labeled) < MIN_VIDEOS:
        raise UserError(
            f"only {len(labeled)} labeled videos; training needs at least {MIN_VIDEOS} "
            "(videos whose horizon has passed)"
        )
    ordered = labeled.reset_index(drop=True).sort_values(["posted_at", "video_id"], kind="stable")
    bounds = np.cumsum([shares[s] for s in SLICES])
    position = np.arange(len(ordered)) / len(ordered)
    names = np.array(SLICES)[np.searchsorted(bounds, position, side="right")]
    # back in the videos' own order, as fixed-width strings: comparing a million of them
    # (one per example) is a vectorized compare, not a million Python string compares
    slices = np.empty_like(names)
    slices[ordered.index.to_numpy()] = names
    posted = ordered["posted_at"].array  # stays datetime64: to_numpy() makes one object per row
    cutoffs = {s: str(posted[names == s][0]) for s in SLICES if (names == s).any()}
    for name in SLICES:
        y = ordered["label"].to_numpy()[names == name]
        if len(np.unique(y)) < 2:
            raise UserError(
                f"the {name} slice has a single class ({int(y[0]) if len(y) else 'empty'}): "
                "the threshold is never (or always) reached; lower --threshold or add data"
            )
    return Split(slices, cutoffs)
