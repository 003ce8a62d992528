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
    order = np.lexsort((ages[within], code[within]))
    sorted_codes = code[within][order]
    last = np.r_[sorted_codes[1:] != sorted_codes[:-1], True] if len(order) else order
    at_horizon = np.full(len(index), np.nan)
    at_horizon[sorted_codes[last]] = likes[within][order][last]

    at_horizon[~closed] = np.nan
    return pd.DataFrame(
        {
            "video_id": videos["video_id"].to_numpy(),
            "likes_at_horizon": at_horizon,
            "labeled": closed,
            "label": np.where(closed, (at_horizon >= threshold).astype(float), np.nan),
        }
    )
