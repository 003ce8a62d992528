"""Raw example rows: a video's draft, its creator's history and what was observed by an age.

Training, batch scoring and the HTTP service all produce rows of this one shape
(``RAW_COLUMNS``) and hand them to ``features.pipeline.build_features``; that shared step is
what keeps the features served equal to the features trained on.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from features.history import history_at

DRAFT_COLUMNS = (
    "creator_id",
    "category",
    "duration_s",
    "posted_at",
    "caption",
    "hashtags",
    "creator_followers",
    "music_trending",
)
HISTORY_COLUMNS = (
    "hist_videos",
    "hist_median_likes",
    "hist_p90_likes",
    "hist_hit_rate",
    "hist_last_posted_at",
)
OBSERVED_COUNTERS = ("views", "likes", "comments", "replies", "shares", "follows")
OBSERVED_RATES = ("completion_rate", "retention_3s")
OBSERVATION_COLUMNS = (
    "obs_age_minutes",
    *OBSERVED_COUNTERS,
    *OBSERVED_RATES,
    "lag1_age_minutes",
    "lag1_likes",
    "lag2_age_minutes",
    "lag2_likes",
)
RAW_COLUMNS = ("video_id", *DRAFT_COLUMNS, *HISTORY_COLUMNS, "age_minutes", *OBSERVATION_COLUMNS)

_SHIFT = np.int64(2**32)  # video code * 2^32 + centi-minutes: one sortable int64 key


def observe(
    snapshots: pd.DataFrame,
    video_ids: pd.Series,
    ages: np.ndarray,
    repeat: int = 1,
) -> dict[str, np.ndarray]:
    """For each (video, age): the latest snapshot at or before the age, and the two before it.

    Snapshots at age 0 carry no information (everything is zero) and are skipped, so a
    draft (age 0) has no observation at all, exactly like a draft sent to the service.
    With ``repeat`` k, each id stands for k consecutive queries (a video at k ages), so ids
    are looked up once per video rather than once per example.
    """
    snaps = snapshots[snapshots["age_minutes"] > 0]
    ids = snaps["video_id"]
    if isinstance(ids.dtype, pd.CategoricalDtype):  # as the loader gives them: no hashing
        codes = pd.Index(ids.cat.categories)
        s_code = ids.cat.codes.to_numpy().astype(np.int64)
    else:
        codes = pd.Index(pd.unique(ids))
        s_code = codes.get_indexer(ids).astype(np.int64)
    s_age = np.round(snaps["age_minutes"].to_numpy(dtype="float64") * 100).astype(np.int64)
    key = s_code * _SHIFT + s_age
    # The loader hands snapshots sorted by video and age: then there is nothing to sort, and
    # the look-ups below read the snapshot columns front to back instead of at random.
    presorted = bool(np.all(key[1:] >= key[:-1]))
    order = np.arange(len(key)) if presorted else np.argsort(key, kind="stable")
    if not presorted:
        key, s_code = key[order], s_code[order]

    q_code = np.repeat(codes.get_indexer(video_ids).astype(np.int64), repeat)
    q_age = np.round(np.asarray(ages, dtype="float64") * 100).astype(np.int64)
    pos = np.searchsorted(key, q_code * _SHIFT + q_age, side="right") - 1

    def at(offset: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(order):  # no snapshot at all (drafts only): nothing observed
            return np.zeros(len(pos), dtype=np.int64), np.zeros(len(pos), dtype=bool)
        p = pos - offset
        ok = (p >= 0) & (q_code >= 0)
        clipped = np.clip(p, 0, len(order) - 1)
        ok &= s_code[clipped] == q_code
        return (clipped if presorted else order[clipped]), ok

    values = {
        name: snaps[name].to_numpy(dtype="float64", na_value=np.nan)
        for name in ("age_minutes", *OBSERVED_COUNTERS, *OBSERVED_RATES)
        if name in snaps.columns and len(snaps)
    }

    def column(name: str, rows: np.ndarray, ok: np.ndarray) -> np.ndarray:
        if name not in values:
            return np.full(len(q_code), np.nan)
        return np.where(ok, values[name][rows], np.nan)

    rows0, ok0 = at(0)
    rows1, ok1 = at(1)
    rows2, ok2 = at(2)
    out = {"obs_age_minutes": column("age_minutes", rows0, ok0)}
    for name in (*OBSERVED_COUNTERS, *OBSERVED_RATES):
        out[name] = column(name, rows0, ok0)
    out["lag1_age_minutes"] = column("age_minutes", rows1, ok1)
    out["lag1_likes"] = column("likes", rows1, ok1)
    out["lag2_age_minutes"] = column("age_minutes", rows2, ok2)
    out["lag2_likes"] = column("likes", rows2, ok2)
    return out


def draft_rows(videos: pd.DataFrame) -> pd.DataFrame:
    """The draft columns, with optional ones the data lacks present as missing."""
    out = pd.DataFrame({"video_id": videos["video_id"]})
    for name in DRAFT_COLUMNS:
        out[name] = videos[name] if name in videos.columns else np.nan
    return out


def video_rows(
    videos: pd.DataFrame,
    labels: pd.DataFrame,
    threshold: int,
    horizon_minutes: float,
    history_window: int,
) -> pd.DataFrame:
    """Draft plus point-in-time creator history, one row per video (age not yet set)."""
    history = history_at(
        videos["creator_id"],
        videos["posted_at"],
        videos,
        labels,
        threshold,
        horizon_minutes,
        history_window,
    )
    return pd.concat(
        [draft_rows(videos).reset_index(drop=True), history.reset_index(drop=True)], axis=1
    )


def _repeat(per_video: pd.DataFrame, repeat: int) -> pd.DataFrame:
    """Each video ``repeat`` times in a row, its text as categorical codes.

    Copying every caption once per age made this the slowest step of building training
    examples; as a categorical, a repeated text column is an array of integers, and the
    feature code counts each distinct text once.
    """
    columns = {}
    for name in per_video.columns:
        column = per_video[name]
        if pd.api.types.is_string_dtype(column) or column.dtype == object:
            codes, uniques = pd.factorize(column)
            column = pd.Series(pd.Categorical.from_codes(codes, uniques), index=column.index)
        columns[name] = column.iloc[np.repeat(np.arange(len(column)), repeat)].reset_index(
            drop=True
        )
    return pd.DataFrame(columns, copy=False)


def _attach(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, ages: np.ndarray, repeat: int = 1
) -> pd.DataFrame:
    ids = per_video["video_id"]
    if repeat > 1:
        per_video = _repeat(per_video, repeat)
    per_video = per_video.reset_index(drop=True)
    columns = {"age_minutes": ages, **observe(snapshots, ids, ages, repeat)}
    # copy=False: the columns are fresh arrays; copying them into consolidated blocks
    # would write every one of the millions of rows a second time
    return pd.DataFrame(
        {name: columns[name] if name in columns else per_video[name] for name in RAW_COLUMNS},
        copy=False,
    )


def grid_rows(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, grid: tuple[float, ...]
) -> pd.DataFrame:
    """Every video at every grid age: the training examples' raw rows, video-major order."""
    n, k = len(per_video), len(grid)
    return _attach(per_video, snapshots, np.tile(np.asarray(grid, dtype="float64"), n), k)


def single_age_rows(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, ages: np.ndarray
) -> pd.DataFrame:
    """Each video at its own age (batch scoring: a fixed age, or the age at a timestamp)."""
    return _attach(per_video, snapshots, np.asarray(ages, dtype="float64"))
