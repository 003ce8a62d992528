"""Each creator's history at every moment, computed from the data, for point-in-time look-ups.

A creator's history (``features.history``) changes only when one of its videos is posted or
closes its horizon. The store keeps one row per such change, ``valid_from`` that moment, so
the history as of any time t is the creator's latest row at or before t: a draft planned for
t, or a backtest at t, sees exactly what training saw for a video posted at t, and nothing
that happened later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from features.history import history_at
from features.labels import label_videos
from features.loading import Dataset
from features.rows import HISTORY_COLUMNS
from likecast.errors import UserError
from likecast.target import Target

EVENTS_PER_PASS = 200_000  # history_at holds a window of likes per query: bound its memory


class StoreRangeError(UserError):
    """A time before the store's oldest state: its history is not known."""


@dataclass(frozen=True)
class Timeline:
    """Every creator's history after each change, and the span of time it covers."""

    rows: pd.DataFrame  # creator_id, valid_from (UTC), HISTORY_COLUMNS
    oldest: pd.Timestamp  # the data's first post: before it, nothing is known
    as_of: pd.Timestamp  # the data's end: later changes are not in the store
    # what its hit rates count as a hit; None for a store written before it was recorded
    target: Target | None = None

    def check(self, times: pd.Series, what: str) -> None:
        """Refuse times before the oldest state, in one line that says how to fix it."""
        early = times < self.oldest
        if early.any():
            raise StoreRangeError(too_early(what, times[early].min(), self.oldest))


def before_store(oldest: pd.Timestamp) -> str:
    """Why a moment before ``oldest`` has no history, and the command that fixes it."""
    return (
        f"before the creator store's oldest state ({oldest.isoformat()}): materialize the "
        "store from data that reaches back that far (likecast features materialize --data DIR)"
    )


def too_early(what: str, moment: pd.Timestamp | datetime, oldest: pd.Timestamp) -> str:
    """The one-line error for ``what`` at ``moment``, before the store's oldest state."""
    return f"{what}: {pd.Timestamp(moment).isoformat()} is {before_store(oldest)}"


def target_mismatch(stored: Target | None, model: Target, path: Path | str) -> str | None:
    """Why a store built for ``stored`` cannot serve a model predicting ``model``; None when
    it can. Its hit rates count hits of its own target: another model's answers built on them
    would credit a creator with the wrong past (docs/adr/0037)."""
    again = f"materialize it again: likecast features materialize --data DIR {model.options()}"
    if stored is None:
        return f"creator store {path} records no target (written by an older likecast); {again}"
    if stored == model:
        return None
    return f"creator store {path} was built for {stored}, the model predicts {model}; {again}"


def data_end(dataset: Dataset) -> pd.Timestamp:
    """The last moment the data knows of: its latest post or snapshot."""
    ends = [dataset.videos["posted_at"].max()]
    if len(dataset.snapshots):
        ends.append(dataset.snapshots["observed_at"].max())
    return max(ends)


def history_timeline(
    dataset: Dataset,
    as_of: pd.Timestamp,
    threshold: int,
    horizon_minutes: float,
    window: int,
) -> Timeline:
    """Every creator's history after each post and each close up to ``as_of``."""
    videos = dataset.videos
    labels = label_videos(
        videos, dataset.snapshots, threshold, horizon_minutes, observed_until=data_end(dataset)
    )
    posted = videos["posted_at"]
    closes = posted + pd.Timedelta(minutes=horizon_minutes)
    # a post is history from the next second on (history counts posts strictly before t);
    # a close counts from its own second on
    one_second = pd.Timedelta(seconds=1)
    posts = pd.DataFrame({"creator_id": videos["creator_id"], "at": posted.dt.floor("s")})
    posts = posts[posted < as_of].assign(at=lambda f: f["at"] + one_second)
    closed = labels["labeled"].to_numpy() & (closes <= as_of).to_numpy()
    shut = pd.DataFrame({"creator_id": videos["creator_id"], "at": closes.dt.floor("s")})[closed]
    events = pd.concat([posts, shut], ignore_index=True)
    events = events.drop_duplicates().sort_values(["creator_id", "at"], ignore_index=True)
    parts = []
    for start in range(0, len(events), EVENTS_PER_PASS):
        part = events.iloc[start : start + EVENTS_PER_PASS]
        states = history_at(
            part["creator_id"].astype("string"),
            part["at"],
            videos,
            labels,
            threshold,
            horizon_minutes,
            window,
        )
        parts.append(pd.concat([part.rename(columns={"at": "valid_from"}), states], axis=1))
    rows = (
        pd.concat(parts, ignore_index=True)
        if parts
        else pd.DataFrame(columns=["creator_id", "valid_from", *HISTORY_COLUMNS])
    )
    rows["creator_id"] = rows["creator_id"].astype("string")
    return Timeline(rows, posted.min(), as_of, Target(int(threshold), float(horizon_minutes)))


def history_as_of(timeline: Timeline, creators: pd.Series, times: pd.Series) -> pd.DataFrame:
    """Each (creator, time)'s history: its creator's latest row at or before the time.

    A creator without a row by then is a cold start (``features.history.COLD_START``).
    """
    rows = timeline.rows
    codes = pd.Index(pd.unique(rows["creator_id"]))
    r_code = codes.get_indexer(pd.Index(rows["creator_id"])).astype(np.int64)
    r_sec = seconds(rows["valid_from"])
    order = np.lexsort((r_sec, r_code))
    r_code, r_sec = r_code[order], r_sec[order]
    q_code = codes.get_indexer(pd.Index(creators.astype("string"))).astype(np.int64)
    q_sec = seconds(times)
    shift = np.int64(2**33)
    pos = np.searchsorted(r_code * shift + r_sec, q_code * shift + q_sec, side="right") - 1
    found = (pos >= 0) & (q_code >= 0)
    found &= r_code[np.maximum(pos, 0)] == q_code if len(r_code) else False
    picked = rows.iloc[order].iloc[np.maximum(pos, 0)] if len(rows) else None
    out = {}
    for name in HISTORY_COLUMNS:
        if picked is None:
            values = pd.Series([None] * len(q_code))
        else:
            values = picked[name].reset_index(drop=True).where(pd.Series(found))
        out[name] = values.to_numpy()
    frame = pd.DataFrame(out, index=creators.index)
    frame["hist_last_posted_at"] = pd.to_datetime(frame["hist_last_posted_at"], utc=True)
    for name in HISTORY_COLUMNS[:-1]:
        frame[name] = frame[name].astype("float64")
    frame["hist_videos"] = frame["hist_videos"].fillna(0.0)
    return frame


def seconds(stamps: pd.Series) -> np.ndarray:
    """Each moment as whole seconds since the epoch: the stores' ``valid_from``."""
    utc = pd.Series(stamps).astype("datetime64[ns, UTC]")
    return (utc.astype("int64") // 10**9).to_numpy(dtype=np.int64)
