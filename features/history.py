"""Creator history, point in time: what was known about a creator at a given moment.

A video's outcome becomes known only when its horizon closes, so the history seen by a video
posted at time t holds only the creator's earlier videos whose horizon closed by t. The same
function answers "at each video's posting time" (training) and "now" (the online store).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_SHIFT = np.int64(2**33)  # creator code * 2^33 + seconds: one sortable int64 key

# What is known of a creator with no earlier post: the one definition every path uses
# (``history_at`` gives exactly this for such a creator).
COLD_START: dict[str, object] = {
    "hist_videos": 0.0,
    "hist_median_likes": np.nan,
    "hist_p90_likes": np.nan,
    "hist_hit_rate": np.nan,
    "hist_last_posted_at": None,
}


def _epoch_seconds(stamps: pd.Series) -> np.ndarray:
    utc = pd.Series(stamps).astype("datetime64[ns, UTC]").dt.tz_localize(None)
    return utc.to_numpy("datetime64[s]").astype(np.int64)


def _key(codes: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    return codes.astype(np.int64) * _SHIFT + seconds.astype(np.int64)


def _row_quantile(ordered: np.ndarray, counts: np.ndarray, q: float) -> np.ndarray:
    """Quantile of each sorted row's first ``counts`` values (NaNs sort last)."""
    pos = q * (np.maximum(counts, 1) - 1)
    low = np.floor(pos).astype(np.int64)
    high = np.minimum(low + 1, np.maximum(counts - 1, 0))
    rows = np.arange(len(ordered))
    frac = pos - low
    out = ordered[rows, low] * (1 - frac) + ordered[rows, high] * frac
    return np.where(counts > 0, out, np.nan)


def history_at(
    query_creators: pd.Series,
    query_times: pd.Series,
    videos: pd.DataFrame,
    labels: pd.DataFrame,
    threshold: int,
    horizon_minutes: float,
    window: int,
) -> pd.DataFrame:
    """History statistics of each (creator, time) query, from closed, labeled videos only.

    Median, p90 and hit rate use the creator's last ``window`` closed videos (recent form);
    ``hist_videos`` counts all of them. ``hist_last_posted_at`` is the creator's latest post
    strictly before the query time, labeled or not, since posting itself is public at once.
    """
    creators = pd.Index(pd.unique(pd.concat([videos["creator_id"], query_creators]).dropna()))
    q_code = creators.get_indexer(query_creators)
    q_sec = _epoch_seconds(query_times)

    posted_sec = _epoch_seconds(videos["posted_at"])
    v_code = creators.get_indexer(videos["creator_id"])
    final = labels["likes_at_horizon"].to_numpy()
    is_closed = labels["labeled"].to_numpy()
    close_sec = posted_sec + np.int64(horizon_minutes * 60)

    # closed outcomes, sorted by (creator, close time)
    ev_key = _key(v_code[is_closed], close_sec[is_closed])
    order = np.argsort(ev_key, kind="stable")
    ev_key, ev_likes = ev_key[order], final[is_closed][order]
    ev_code = v_code[is_closed][order]
    q_key = _key(q_code, q_sec)
    end = np.searchsorted(ev_key, q_key, side="right")
    start = np.searchsorted(ev_code, q_code, side="left")
    count = np.maximum(end - start, 0)
    count = np.where(q_code >= 0, count, 0)

    idx = end[:, None] - window + np.arange(window)[None, :]
    valid = (idx >= start[:, None]) & (count[:, None] > 0)
    recent = np.where(
        valid,
        ev_likes[np.clip(idx, 0, max(len(ev_likes) - 1, 0))] if len(ev_likes) else np.nan,
        np.nan,
    )
    in_window = valid.sum(axis=1)
    hits = np.where(valid, recent >= threshold, np.nan)
    with np.errstate(invalid="ignore"):
        hit_rate = np.nansum(hits, axis=1) / np.where(in_window > 0, in_window, np.nan)

    ordered = np.sort(recent, axis=1)  # once, for both quantiles

    # previous post of the same creator, strictly before the query time
    post_key = _key(v_code, posted_sec)
    post_order = np.argsort(post_key, kind="stable")
    sorted_posts = post_key[post_order]
    prev = np.searchsorted(sorted_posts, q_key, side="left") - 1
    prev_ok = (prev >= 0) & (v_code[post_order][np.maximum(prev, 0)] == q_code) & (q_code >= 0)
    prev_sec = sorted_posts[np.maximum(prev, 0)] - q_code * _SHIFT
    last_posted = pd.to_datetime(np.where(prev_ok, prev_sec, np.nan), unit="s", utc=True)

    return pd.DataFrame(
        {
            "hist_videos": count.astype("float64"),
            "hist_median_likes": _row_quantile(ordered, in_window, 0.5),
            "hist_p90_likes": _row_quantile(ordered, in_window, 0.9),
            "hist_hit_rate": hit_rate,
            "hist_last_posted_at": last_posted.astype("datetime64[ns, UTC]"),
        },
        index=query_creators.index,
    )
