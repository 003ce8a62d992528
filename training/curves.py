"""Freezing the like curves of the training videos (``models.curves``) for the answers'
"ahead of 82% of food videos at 2 h".

Built from the examples the model learned from: the train slice's videos, each at every
training age with the likes observed by then (``features.examples``), so a percentile is
one of the same videos, counted the same way, that the model's answer rests on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.examples import Grid
from models.curves import ALL, BAND_LEVELS, FOLLOWER_EDGES, LEVELS, Curves, Group

# A group of fewer training videos is not kept: the answer then takes the coarser group.
# 200 videos put a percentile's sampling error near 3 points, about the quantiles' own.
MIN_GROUP_VIDEOS = 200
# At an age, fewer observed videos than this (or reached ones, for their band) give no curve.
MIN_AT_AGE = 20


def like_curves(
    grid: Grid, labels: np.ndarray, chosen: np.ndarray, threshold: int, min_videos: int
) -> Curves:
    """The curves of the ``chosen`` videos of ``grid`` (one flag per video, in its order),
    ``labels`` their outcomes (one per video).

    At age 0 every video has 0 likes (posting); at a later age a video without a snapshot
    by then is left out of that age, not counted as 0. The signals are the rates its latest
    snapshot showed and its comments per view (none without a view).
    """
    ages = grid.observed["age_minutes"].to_numpy()[: grid.ages]
    likes = _by_video(grid, "likes")
    likes[:, ages == 0] = 0.0
    views = _by_video(grid, "views")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_view = np.where(views > 0, _by_video(grid, "comments") / views, np.nan)
    signals = {  # models.curves.SIGNALS
        "completion_rate": _by_video(grid, "completion_rate"),
        "retention_3s": _by_video(grid, "retention_3s"),
        "comments_per_view": per_view,
    }
    videos = grid.videos
    category = videos["category"].astype("string")
    followers = pd.to_numeric(videos["creator_followers"], errors="coerce").to_numpy(float)
    band = np.searchsorted(np.asarray(FOLLOWER_EDGES, dtype=float), followers, side="right")
    members: dict[str, np.ndarray] = {ALL: chosen.copy()}
    for name in category[chosen & category.notna().to_numpy()].unique():
        in_category = chosen & (category == name).fillna(False).to_numpy(dtype=bool)
        members[str(name)] = in_category
        for b in range(len(FOLLOWER_EDGES) + 1):
            members[f"{name}|{b}"] = in_category & (band == b) & ~np.isnan(followers)
    reached = labels.astype(bool)
    groups = {
        key: _group(likes[mask], reached[mask], {k: v[mask] for k, v in signals.items()})
        for key, mask in members.items()
        if mask.sum() >= min_videos or (key == ALL and mask.any())
    }
    return Curves(
        threshold=threshold,
        ages=[float(a) for a in ages],
        min_videos=min_videos,
        groups=groups,
    )


def _by_video(grid: Grid, name: str) -> np.ndarray:
    """One observed column as (videos, ages)."""
    column = grid.observed[name].to_numpy(dtype="float64", na_value=np.nan)
    return column.reshape(-1, grid.ages).copy()


def _group(likes: np.ndarray, reached: np.ndarray, signals: dict[str, np.ndarray]) -> Group:
    """One group's quantiles at each age (its videos' likes and signals: a row per video)."""
    ages = range(likes.shape[1])
    return Group(
        videos=len(likes),
        reached=int(reached.sum()),
        likes=[_quantiles(likes[:, j], LEVELS) for j in range(likes.shape[1])],
        reached_band=[_quantiles(likes[reached, j], BAND_LEVELS) for j in range(likes.shape[1])],
        missed_band=[_quantiles(likes[~reached, j], BAND_LEVELS) for j in range(likes.shape[1])],
        signals={
            name: [_quantiles(values[:, j], LEVELS, digits=4) for j in ages]
            for name, values in signals.items()
        },
    )


def _quantiles(
    values: np.ndarray, levels: tuple[float, ...], digits: int = 1
) -> list[float] | None:
    seen = values[~np.isnan(values)]
    if len(seen) < MIN_AT_AGE:
        return None
    return [round(float(q), digits) for q in np.quantile(seen, levels)]
