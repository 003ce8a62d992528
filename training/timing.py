"""When the audience likes: the share of likes arriving in each hour of the day, measured
from the snapshots' timing, for the page's "on this platform likes peak 20:00-22:00".

The likes a video gained between two of its snapshots are spread evenly over the time
between them, hour by hour on the model's clock. Only snapshots at most
``LIKECAST_TIMING_MAX_GAP_MINUTES`` apart are read: a gain over a longer gap cannot be
placed in an hour. Data crawled more rarely (the real data in the contract can be one
snapshot a day) give no timing at all rather than a peak the crawl's own schedule made.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.curves import ALL, HourShares, Timing

# below this many gaps in an hour of the day, that hour cannot be told: the group has none
MIN_GAPS_PER_HOUR = 30
BOOTSTRAP = 200  # resamples of videos for the 80% intervals
LEVEL = 0.8
NANOSECONDS_PER_HOUR = 3_600e9
HOURS = 24
LIKED = tuple(f"liked_{h}" for h in range(HOURS))  # a video's likes gained in each hour
GAPS = tuple(f"gaps_{h}" for h in range(HOURS))  # and the gaps that covered it


def like_timing(
    snapshots: pd.DataFrame, videos: pd.DataFrame, zone: str, seed: int, max_gap_minutes: float
) -> Timing:
    """Each category's (and all videos') share of likes per hour of the day on ``zone``'s
    clock, with 80% intervals from resampling videos; a group whose gaps leave an hour of
    the day unseen is left out."""
    rows = hour_rows(snapshots, videos, zone, max_gap_minutes)
    return timing_of(rows, zone, seed, max_gap_minutes)


def hour_rows(
    snapshots: pd.DataFrame, videos: pd.DataFrame, zone: str, max_gap_minutes: float
) -> pd.DataFrame:
    """A row per video with a gap short enough to read: its category, its likes gained in
    each hour of the day (``LIKED``) and how many gaps covered each (``GAPS``).

    Everything ``timing_of`` needs, and it merges by concatenation: a partition of whole
    videos sends 48 numbers per video, however many snapshots it has.
    """
    gained = _gains(snapshots, zone, max_gap_minutes)
    codes, ids = pd.factorize(gained["video_id"], sort=True)
    hours = gained["hour"].to_numpy()
    liked = np.zeros((len(ids), HOURS))
    np.add.at(liked, (codes, hours), gained["likes"].to_numpy())
    gaps = np.zeros((len(ids), HOURS), dtype=np.int64)
    np.add.at(gaps, (codes, hours), 1)
    category = videos.set_index(videos["video_id"].astype(str))["category"].astype("string")
    keys = pd.DataFrame({"video_id": ids.astype(str), "category": category.reindex(ids).to_numpy()})
    counts = pd.DataFrame(np.hstack([liked, gaps]), columns=[*LIKED, *GAPS])
    return keys.join(counts.astype({name: np.int64 for name in GAPS}))


def timing_of(rows: pd.DataFrame, zone: str, seed: int, max_gap_minutes: float) -> Timing:
    """The timing from ``hour_rows`` of every video, in any order (one partition's after
    another's): sorted by video first, so the resampling draws the same videos."""
    rows = rows.sort_values("video_id", kind="stable", ignore_index=True)
    groups = {ALL: rows, **dict(tuple(rows.dropna(subset="category").groupby("category")))}
    rng = np.random.default_rng(seed)
    measured = {str(key): _shares(group, rng) for key, group in groups.items()}
    return Timing(
        zone=zone,
        max_gap_minutes=max_gap_minutes,
        groups={key: shares for key, shares in measured.items() if shares is not None},
    )


def _gains(snapshots: pd.DataFrame, zone: str, max_gap_minutes: float) -> pd.DataFrame:
    """Per video and hour of the day: the likes gained then and the gaps that covered it
    (one row per gap and hour it overlaps)."""
    snaps = snapshots[["video_id", "observed_at", "likes"]].dropna()
    snaps = snaps.assign(video_id=snaps["video_id"].astype(str))  # a partition's own codes
    snaps = snaps.sort_values(["video_id", "observed_at"], kind="stable")
    local = snaps["observed_at"].dt.tz_convert(zone).dt.tz_localize(None)
    at = local.to_numpy("datetime64[ns]").astype("int64") / NANOSECONDS_PER_HOUR  # local hours
    likes = snaps["likes"].to_numpy(dtype="float64")
    same = snaps["video_id"].to_numpy()[1:] == snaps["video_id"].to_numpy()[:-1]
    start, end, gain = at[:-1], at[1:], likes[1:] - likes[:-1]
    keep = same & (end > start) & (end - start <= max_gap_minutes / 60)
    start, end, gain = start[keep], end[keep], gain[keep]
    video = snaps["video_id"].to_numpy()[1:][keep]
    rows = []
    # a gap of at most n hours overlaps at most n + 1 hours of the day
    for step in range(int(np.ceil(max_gap_minutes / 60)) + 1):
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
    gaps = rows[list(GAPS)].to_numpy().sum(axis=0)
    per_video = rows[list(LIKED)].to_numpy()
    if len(rows) == 0 or gaps.min() < MIN_GAPS_PER_HOUR or per_video.sum() <= 0:
        return None
    share = per_video.sum(axis=0) / per_video.sum()
    weights = rng.multinomial(
        len(per_video), np.full(len(per_video), 1 / len(per_video)), BOOTSTRAP
    )
    totals = weights @ per_video
    resampled = totals / totals.sum(axis=1, keepdims=True)
    low, high = np.quantile(resampled, [(1 - LEVEL) / 2, (1 + LEVEL) / 2], axis=0)
    return HourShares(
        videos=len(per_video),
        gaps=int(gaps.sum()),
        share=[round(float(v), 4) for v in share],
        low=[round(float(v), 4) for v in low],
        high=[round(float(v), 4) for v in high],
    )
