"""When the audience likes: the share of likes arriving in each hour of the day, measured
from the snapshots' timing, for the page's "on this platform likes peak 20:00-22:00".

The likes a video gained between two of its snapshots are spread evenly over the time
between them, hour by hour on the model's clock. Only snapshots at most ``MAX_GAP_MINUTES``
apart are read: a gain over a longer gap cannot be placed in an hour. Data crawled more
rarely (the real data in the contract can be one snapshot a day) give no timing at all
rather than a peak the crawl's own schedule made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.curves import ALL, HourShares, Timing

MAX_GAP_MINUTES = 120.0
# below this many gaps in an hour of the day, that hour cannot be told: the group has none
MIN_GAPS_PER_HOUR = 30
BOOTSTRAP = 200  # resamples of videos for the 80% intervals
LEVEL = 0.8
NANOSECONDS_PER_HOUR = 3_600e9


def like_timing(snapshots: pd.DataFrame, videos: pd.DataFrame, zone: str, seed: int) -> Timing:
    """Each category's (and all videos') share of likes per hour of the day on ``zone``'s
    clock, with 80% intervals from resampling videos; a group whose gaps leave an hour of
    the day unseen is left out."""
    gained = _gains(snapshots, zone)
    category = videos.set_index("video_id")["category"].astype("string")
    gained["category"] = category.reindex(gained["video_id"]).to_numpy()
    groups = {ALL: gained, **dict(tuple(gained.dropna(subset="category").groupby("category")))}
    rng = np.random.default_rng(seed)
    measured = {str(key): _shares(rows, rng) for key, rows in groups.items()}
    return Timing(
        zone=zone,
        max_gap_minutes=MAX_GAP_MINUTES,
        groups={key: shares for key, shares in measured.items() if shares is not None},
    )


def _gains(snapshots: pd.DataFrame, zone: str) -> pd.DataFrame:
    """Per video and hour of the day: the likes gained then and the gaps that covered it
    (one row per gap and hour it overlaps)."""
    snaps = snapshots[["video_id", "observed_at", "likes"]].dropna()
    snaps = snaps.sort_values(["video_id", "observed_at"], kind="stable")
    local = snaps["observed_at"].dt.tz_convert(zone).dt.tz_localize(None)
    at = local.to_numpy("datetime64[ns]").astype("int64") / NANOSECONDS_PER_HOUR  # local hours
    likes = snaps["likes"].to_numpy(dtype="float64")
    same = snaps["video_id"].to_numpy()[1:] == snaps["video_id"].to_numpy()[:-1]
    start, end, gain = at[:-1], at[1:], likes[1:] - likes[:-1]
    keep = same & (end > start) & (end - start <= MAX_GAP_MINUTES / 60)
    start, end, gain = start[keep], end[keep], gain[keep]
    video = snaps["video_id"].to_numpy()[1:][keep]
    rows = []
    # a gap of at most two hours overlaps at most three hours of the day
    for step in range(int(np.ceil(MAX_GAP_MINUTES / 60)) + 1):
        hour = np.floor(start) + step
        overlap = np.minimum(end, hour + 1) - np.maximum(start, hour)
        on = overlap > 0
        rows.append(
            pd.DataFrame(
                {
                    "video_id": video[on],
                    "hour": (hour[on] % 24).astype(int),
                    "likes": gain[on] * overlap[on] / (end - start)[on],
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def _shares(rows: pd.DataFrame, rng: np.random.Generator) -> HourShares | None:
    """The share per hour of one group's likes and its interval; none where an hour of the
    day was covered by too few gaps or no like was gained."""
    gaps = np.bincount(rows["hour"], minlength=24)
    if gaps.min() < MIN_GAPS_PER_HOUR or rows["likes"].sum() <= 0:
        return None
    codes, _ = pd.factorize(rows["video_id"])
    per_video = np.zeros((codes.max() + 1, 24))
    np.add.at(per_video, (codes, rows["hour"].to_numpy()), rows["likes"].to_numpy())
    share = per_video.sum(axis=0) / per_video.sum()
    weights = rng.multinomial(
        len(per_video), np.full(len(per_video), 1 / len(per_video)), BOOTSTRAP
    )
    totals = weights @ per_video
    resampled = totals / totals.sum(axis=1, keepdims=True)
    low, high = np.quantile(resampled, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return HourShares(
        videos=len(per_video),
        gaps=len(rows),
        share=[round(float(v), 4) for v in share],
        low=[round(float(v), 4) for v in low],
        high=[round(float(v), 4) for v in high],
    )
