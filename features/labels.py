"""The label: did a video's likes at its horizon reach the threshold?

Likes at the horizon are those of the last snapshot at or before posted_at + horizon, and a
video counts as labeled only when some snapshot exists at or after the horizon, so a crawl
that stopped early can never masquerade as a flop.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def label_videos(
    videos: pd.DataFrame, snapshots: pd.DataFrame, threshold: int, horizon_minutes: float
) -> pd.DataFrame:
    """One row per video: likes_at_horizon, labeled, label (NaN where unlabeled)."""
    index = pd.Index(videos["video_id"])
    code = index.get_indexer(snapshots["video_id"])
    ages = snapshots["age_minutes"].to_numpy(dtype="float64")
    likes = snapshots["likes"].to_numpy(dtype="float64", na_value=np.nan)
    known = code >= 0
    code, ages, likes = code[known], ages[known], likes[known]

    closed = np.zeros(len(index), dtype=bool)
    closed[code[ages >= horizon_minutes]] = True
    # the last snapshot at or before the horizon: sort by (video, age), keep each video's last
    within = ages <= horizon_minutes
    code, ages, likes = code[within], ages[within], likes[within]
    if not _in_order(code, ages):  # the loader leaves them in order: then no sort at all
        order = np.lexsort((ages, code))
        code, likes = code[order], likes[order]
    last = np.r_[code[1:] != code[:-1], True] if len(code) else np.zeros(0, dtype=bool)
    at_horizon = np.full(len(index), np.nan)
    at_horizon[code[last]] = likes[last]

    at_horizon[~closed] = np.nan
    return pd.DataFrame(
        {
            "video_id": videos["video_id"].to_numpy(),
            "likes_at_horizon": at_horizon,
            "labeled": closed,
            "label": np.where(closed, (at_horizon >= threshold).astype(float), np.nan),
        }
    )


def _in_order(major: np.ndarray, minor: np.ndarray) -> bool:
    """Sorted by (major, minor) already?"""
    step = np.diff(major)
    return bool(np.all((step > 0) | ((step == 0) & (np.diff(minor) >= 0))))


def known_outcome(
    likes: np.ndarray,
    obs_age_minutes: np.ndarray,
    age_minutes: np.ndarray,
    threshold: int,
    horizon_minutes: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(reached, decided) for each row: what its counts alone already settle.

    Likes never decrease, so a count at or above the threshold seen by the horizon means
    the video reached it. At or past the horizon nothing can change any more, and the
    outcome is the label's own rule applied to the counts seen by then. A row without
    counts settles nothing; the rest are the model's to answer.
    """
    likes = np.asarray(likes, dtype="float64")
    counted = ~np.isnan(likes)
    if not counted.any():  # drafts: nothing is settled (and a request's path stays short)
        return counted, counted
    with np.errstate(invalid="ignore"):
        reached = counted & (likes >= threshold)
        reached &= np.asarray(obs_age_minutes, dtype="float64") <= horizon_minutes
        closed = counted & (np.asarray(age_minutes, dtype="float64") >= horizon_minutes)
    return reached, reached | closed


def with_known_outcomes(
    probability: np.ndarray, reached: np.ndarray, decided: np.ndarray
) -> np.ndarray:
    """The model's probabilities, each decided row replaced by its outcome (1 or 0)."""
    return np.where(decided, reached.astype("float64"), probability)
