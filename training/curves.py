"""Freezing the like curves of the training videos (``models.curves``) for the answers'
"ahead of 82% of food videos at 2 h".

Built from the examples the model learned from: the train slice's videos, each at every
training age with the likes observed by then (``features.examples``), so a percentile is
one of the same videos, counted the same way, that the model's answer rests on.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from features.examples import Grid
from models.curves import ALL, BAND_LEVELS, FOLLOWER_EDGES, LEVELS, SIGNALS, Curves, Group

# A group of fewer training videos is not kept: the answer then takes the coarser group.
# 200 videos put a percentile's sampling error near 3 points, about the quantiles' own.
MIN_GROUP_VIDEOS = 200
# At an age, fewer observed videos than this (or reached ones, for their band) give no curve.
MIN_AT_AGE = 20
MEASURES = ("likes", *SIGNALS)
KEYS = ("category", "creator_followers", "reached")  # what puts a video in its groups


def like_curves(
    grid: Grid, labels: np.ndarray, chosen: np.ndarray, threshold: int, min_videos: int
) -> Curves:
    """The curves of the ``chosen`` videos of ``grid`` (one flag per video, in its order),
    ``labels`` their outcomes (one per video)."""
    rows = curve_rows(grid, labels, chosen)
    ages = [float(a) for a in grid.observed["age_minutes"].to_numpy()[: grid.ages]]
    return curves_of(
        rows[list(KEYS)], lambda name: rows[name].to_numpy(), ages, threshold, min_videos
    )


def column(measure: str, age: int) -> str:
    """The ``curve_rows`` column of a measure at the ``age``-th training age."""
    return f"{measure}@{age}"


def curve_rows(grid: Grid, labels: np.ndarray, chosen: np.ndarray) -> pd.DataFrame:
    """A row per chosen video: its ``KEYS`` and each measure at each age (``column``).

    At age 0 every video has 0 likes (posting); at a later age a video without a snapshot
    by then has none, to be left out of that age rather than counted as 0. The signals are
    the rates its latest snapshot showed and its comments per view (none without a view).
    Rows of whole videos merge by concatenation: a partition sends 4 numbers per video and
    age, and the quantiles do not depend on the rows' order.
    """
    ages = grid.observed["age_minutes"].to_numpy()[: grid.ages]
    likes = _by_video(grid, "likes")
    likes[:, ages == 0] = 0.0
    views = _by_video(grid, "views")
    with np.errstate(divide="ignore", invalid="ignore"):
        per_view = np.where(views > 0, _by_video(grid, "comments") / views, np.nan)
    measures = {  # MEASURES
        "likes": likes,
        "completion_rate": _by_video(grid, "completion_rate"),
        "retention_3s": _by_video(grid, "retention_3s"),
        "comments_per_view": per_view,
    }
    videos = grid.videos
    keys = pd.DataFrame(
        {
            "category": videos["category"].astype("string").to_numpy()[chosen],
            "creator_followers": pd.to_numeric(
                videos["creator_followers"], errors="coerce"
            ).to_numpy(float)[chosen],
            "reached": labels.astype(bool)[chosen],
        }
    )
    values = pd.DataFrame(
        {
            column(name, j): by_age[chosen, j]
            for name, by_age in measures.items()
            for j in range(grid.ages)
        }
    )
    return pd.concat([keys, values], axis=1)


def curves_of(
    keys: pd.DataFrame,
    values: Callable[[str], np.ndarray],
    ages: list[float],
    threshold: int,
    min_videos: int,
) -> Curves:
    """The curves from ``curve_rows``: its ``KEYS`` whole, and one column at a time
    (``values(column(measure, age))``, in the rows' order), so that only one age of one
    measure of every video need be held at once."""
    category = keys["category"].astype("string")
    followers = keys["creator_followers"].to_numpy(float)
    band = np.searchsorted(np.asarray(FOLLOWER_EDGES, dtype=float), followers, side="right")
    members: dict[str, np.ndarray] = {ALL: np.ones(len(keys), dtype=bool)}
    for name in category.dropna().unique():
        in_category = (category == name).fillna(False).to_numpy(dtype=bool)
        members[str(name)] = in_category
        for b in range(len(FOLLOWER_EDGES) + 1):
            members[f"{name}|{b}"] = in_category & (band == b) & ~np.isnan(followers)
    kept = {
        key: mask
        for key, mask in members.items()
        if mask.sum() >= min_videos or (key == ALL and mask.any())
    }
    reached = keys["reached"].to_numpy(dtype=bool)
    at: dict[str, dict[str, list[list[float] | None]]] = {
        key: {part: [] for part in (*MEASURES, "reached", "missed")} for key in kept
    }
    for j in range(len(ages)):
        for measure in MEASURES:
            value = values(column(measure, j))
            digits = 1 if measure == "likes" else 4
            for key, mask in kept.items():
                at[key][measure].append(_quantiles(value[mask], LEVELS, digits))
                if measure == "likes":
                    at[key]["reached"].append(_quantiles(value[mask & reached], BAND_LEVELS))
                    at[key]["missed"].append(_quantiles(value[mask & ~reached], BAND_LEVELS))
    groups = {
        key: Group(
            videos=int(mask.sum()),
            reached=int((mask & reached).sum()),
            likes=at[key]["likes"],
            reached_band=at[key]["reached"],
            missed_band=at[key]["missed"],
            signals={name: at[key][name] for name in SIGNALS},
        )
        for key, mask in kept.items()
    }
    return Curves(threshold=threshold, ages=ages, min_videos=min_videos, groups=groups)


def _by_video(grid: Grid, name: str) -> np.ndarray:
    """One observed column as (videos, ages)."""
    column = grid.observed[name].to_numpy(dtype="float64", na_value=np.nan)
    return column.reshape(-1, grid.ages).copy()


def _quantiles(
    values: np.ndarray, levels: tuple[float, ...], digits: int = 1
) -> list[float] | None:
    seen = values[~np.isnan(values)]
    if len(seen) < MIN_AT_AGE:
        return None
    return [round(float(q), digits) for q in np.quantile(seen, levels)]
