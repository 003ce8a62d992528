"""Raw example rows: a video's draft, its creator's history and what was observed by an age.

Training, batch scoring and the HTTP service all produce rows of this one shape
(``RAW_COLUMNS``) and hand them to ``features.pipeline.build_features``; that shared step is
what keeps the features served equal to the features trained on.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """For each (video, age): the latest snapshot at or before the age, and the two before it.

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
    values = {
        name: snaps[name].to_numpy(dtype="float64", na_value=np.nan)
        for name in ("age_minutes", *OBSERVED_COUNTERS, *OBSERVED_RATES)
        if name in snaps.columns
    }
    q_code = np.repeat(codes.get_indexer(video_ids).astype(np.int64), repeat)
    return observe_arrays(s_code, values, q_code, np.asarray(ages, dtype="float64"), threads)


def observe_arrays(
    s_code: np.ndarray,
    values: dict[str, np.ndarray],
    q_code: np.ndarray,
    ages: np.ndarray,
    threads: int = 1,
) -> dict[str, np.ndarray]:
    """The snapshot look-up itself, on plain arrays: training, batch rows and requests.

    Snapshots are numbered by video (``s_code``) with their columns in ``values`` (ages in
    ``values["age_minutes"]``, all > 0: a snapshot at age 0 carries nothing, so a draft has
    no observation, exactly like a draft sent to the service); query i asks for video
    ``q_code[i]`` (-1: unknown) at ``ages[i]``. ``threads`` gather the columns side by side
    (numpy releases the GIL while it copies).
    """
    if not len(s_code):  # drafts only: nothing observed, and nothing to look up
        return {name: np.full(len(q_code), np.nan) for name in OBSERVATION_COLUMNS}
    s_age = np.round(values["age_minutes"] * 100).astype(np.int64)
    key = s_code * _SHIFT + s_age
    # Snapshots usually come sorted by video and age: then there is nothing to sort, and
    # the look-ups below read the snapshot columns front to back instead of at random.
    presorted = bool(np.all(key[1:] >= key[:-1]))
    order = np.arange(len(key)) if presorted else np.argsort(key, kind="stable")
    if not presorted:
        key, s_code = key[order], s_code[order]
    q_age = np.round(ages * 100).astype(np.int64)
    pos = np.searchsorted(key, q_code * _SHIFT + q_age, side="right") - 1

    def at(offset: int) -> tuple[np.ndarray, np.ndarray]:
        if not len(order):  # no snapshot at all (drafts only): nothing observed
            return np.zeros(len(pos), dtype=np.int64), np.zeros(len(pos), dtype=bool)
        p = pos - offset
        ok = (p >= 0) & (q_code >= 0)
        clipped = np.clip(p, 0, len(order) - 1)
        ok &= s_code[clipped] == q_code
        return (clipped if presorted else order[clipped]), ok

    def column(name: str, rows: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        if name not in values or not len(order):
            return np.full(len(q_code), np.nan)
        picked = values[name][rows]  # a fresh array: blanked in place, not copied again
        picked[unseen] = np.nan
        return picked

    def gather(pool_map: Callable) -> dict[str, np.ndarray]:
        latest, lag1, lag2 = ((rows, ~ok) for rows, ok in pool_map(at, (0, 1, 2)))
        wanted = {
            "obs_age_minutes": ("age_minutes", *latest),
            **{name: (name, *latest) for name in (*OBSERVED_COUNTERS, *OBSERVED_RATES)},
            "lag1_age_minutes": ("age_minutes", *lag1),
            "lag1_likes": ("likes", *lag1),
            "lag2_age_minutes": ("age_minutes", *lag2),
            "lag2_likes": ("likes", *lag2),
        }
        gathered = pool_map(lambda job: column(*job), wanted.values())
        return dict(zip(wanted, gathered, strict=True))

    if threads <= 1:  # a request: starting a pool would cost more than the look-up
        return gather(map)
    with ThreadPoolExecutor(threads) as pool:
        return gather(pool.map)


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


def _attach(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, ages: np.ndarray, horizon_minutes: float
) -> pd.DataFrame:
    per_video = per_video.reset_index(drop=True)
    seen = observe(snapshots, per_video["video_id"], np.minimum(ages, horizon_minutes))
    columns = {"age_minutes": ages, **seen}
    # copy=False: the columns are fresh arrays; copying them into consolidated blocks
    # would write every one of the millions of rows a second time
    return pd.DataFrame(
        {name: columns[name] if name in columns else per_video[name] for name in RAW_COLUMNS},
        copy=False,
    )


VIDEO_COLUMNS = ("video_id", *DRAFT_COLUMNS, *HISTORY_COLUMNS)
EXAMPLE_COLUMNS = ("age_minutes", *OBSERVATION_COLUMNS)


@dataclass(frozen=True)
class Grid:
    """Every video at every grid age (the training examples), held in two parts.

    A video's draft and history are the same at each of its ages, so they are kept once per
    video (``videos``) and only the observations once per example (``observed``, video-major:
    a video's ages are consecutive rows). Repeating the per-video columns at every age took
    1.3 GB for 1M videos, on a VM that hands out fresh memory at about 1 GB/s, only for the
    feature step to take them apart again. ``rows()`` gives the flat form where one is needed.
    """

    videos: pd.DataFrame  # VIDEO_COLUMNS, one row per video
    observed: pd.DataFrame  # EXAMPLE_COLUMNS, one row per example
    ages: int  # examples per video

    def __len__(self) -> int:
        return len(self.observed)

    def video_of_example(self) -> np.ndarray:
        return np.repeat(np.arange(len(self.videos)), self.ages)

    def per_example(self, name: str) -> np.ndarray:
        """One raw column with a value per example."""
        if name in self.observed.columns:
            return self.observed[name].to_numpy()
        return self.videos[name].to_numpy().repeat(self.ages)

    def rows(
        self, mask: np.ndarray | None = None, columns: tuple[str, ...] = RAW_COLUMNS
    ) -> pd.DataFrame:
        """Flat raw rows of the examples ``mask`` selects (all by default), indexed by example.

        Text columns come back categorical: a video's caption, repeated at each age, is then
        one integer per row instead of one string copy each.
        """
        picked = np.arange(len(self)) if mask is None else np.flatnonzero(mask)
        video = picked // self.ages
        out = {}
        for name in columns:
            if name in self.observed.columns:
                out[name] = self.observed[name].to_numpy()[picked]
                continue
            values = self.videos[name].array
            if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
                codes, uniques = pd.factorize(values)
                out[name] = pd.Categorical.from_codes(codes[video], uniques)
            else:
                out[name] = values.take(video)
        return pd.DataFrame(out, index=pd.Index(picked), copy=False)


def grid_examples(
    per_video: pd.DataFrame,
    snapshots: pd.DataFrame,
    grid: tuple[float, ...],
    horizon_minutes: float,
    threads: int = 1,
) -> Grid:
    """Every video at every grid age: the training examples.

    Counts are looked up at the age, or at the horizon for ages past it: what happens after
    the horizon never counts, as in the label.
    """
    videos = per_video.reset_index(drop=True)[list(VIDEO_COLUMNS)]
    k = len(grid)
    ages = np.tile(np.asarray(grid, dtype="float64"), len(videos))
    seen = observe(snapshots, videos["video_id"], np.minimum(ages, horizon_minutes), k, threads)
    observed = {"age_minutes": ages, **seen}
    return Grid(videos, pd.DataFrame(observed, columns=list(EXAMPLE_COLUMNS), copy=False), k)


def grid_rows(
    per_video: pd.DataFrame,
    snapshots: pd.DataFrame,
    grid: tuple[float, ...],
    horizon_minutes: float,
) -> pd.DataFrame:
    """Every video at every grid age as flat raw rows, video-major order."""
    return grid_examples(per_video, snapshots, grid, horizon_minutes).rows()


def single_age_rows(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, ages: np.ndarray, horizon_minutes: float
) -> pd.DataFrame:
    """Each video at its own age (batch scoring: a fixed age, or the age at a timestamp)."""
    return _attach(per_video, snapshots, np.asarray(ages, dtype="float64"), horizon_minutes)
