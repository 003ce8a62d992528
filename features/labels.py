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
    ages = snapshots["age_minutes"].to_numpy()
    by_video = snapshots.assign(
        _before=np.where(ages <= horizon_minutes, ages, -np.inf),
        _closed=ages >= horizon_minutes,
    )
    closed = by_video.groupby("video_id", observed=True)["_closed"].any()
    within = by_video[by_video["_before"] > -np.inf]
    last = within.sort_values("age_minutes").groupby("video_id", observed=True).tail(1)
    likes = last.set_index("video_id")["likes"].astype("float64")
    out = pd.DataFrame({"video_id": videos["video_id"].to_numpy()})
    out["likes_at_horizon"] = out["video_id"].map(likes).to_numpy(dtype="float64")
    out["labeled"] = out["video_id"].map(closed).fillna(False).astype(bool).to_numpy()
    out.loc[~out["labeled"], "likes_at_horizon"] = np.nan
    out["label"] = np.where(
        out["labeled"], (out["likes_at_horizon"] >= threshold).astype(float), np.nan
    )
    return out
