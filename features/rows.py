"""Raw rows: a video's draft, its creator's history and what was observed by an age.

The one builder of the model's input rows. Training (``features.examples``), batch scoring
and the HTTP service all build their rows here, in the one shape ``RAW_COLUMNS``, and hand
them to ``features.matrix``; that shared path is what keeps the features served equal to the
features trained on. The draft and history columns are the inputs the feature catalogue
declares; the observation columns are what the snapshot look-up below gives.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd

from features.catalog import inputs_of
from features.history import COLD_START
from features.labels import first_count_after, outcome_ages

DRAFT_COLUMNS = ("creator_id", *inputs_of("draft"))
HISTORY_COLUMNS = tuple(c for c in inputs_of("history") if c not in DRAFT_COLUMNS)
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
VIDEO_COLUMNS = ("video_id", *DRAFT_COLUMNS, *HISTORY_COLUMNS)
EXAMPLE_COLUMNS = ("age_minutes", *OBSERVATION_COLUMNS)
RAW_COLUMNS = (*VIDEO_COLUMNS, *EXAMPLE_COLUMNS)

_unobserved = set(inputs_of("engagement")) - set(EXAMPLE_COLUMNS)
if _unobserved:
    raise ValueError(
        f"engagement features read {sorted(_unobserved)}, which the snapshot look-up does "
        "not give: add them to OBSERVED_COUNTERS or OBSERVED_RATES"
    )

_SHIFT = np.int64(2**32)  # video code * 2^32 + centi-minutes: one sortable int64 key


# -- what was observed by an age -----------------------------------------------------------


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
        # pandas-stubs ask get_indexer for an Index; pandas takes any array-like
        s_code = codes.get_indexer(ids).astype(np.int64)  # type: ignore[arg-type]
    values = {
        name: snaps[name].to_numpy(dtype="float64", na_value=np.nan)
        for name in ("age_minutes", *OBSERVED_COUNTERS, *OBSERVED_RATES)
        if name in snaps.columns
    }
    q_code = np.repeat(codes.get_indexer(video_ids).astype(np.int64), repeat)
    return observe_arrays(s_code, values, q_code, np.asarray(ages, dtype="float64"), threads)


def _nothing_seen(rows: int) -> dict[str, np.ndarray]:
    """Observation columns of ``rows`` rows that saw nothing: rows of one block of NaN (one
    allocation, not one per column; each is a column of its own to write to)."""
    blank = np.full((len(OBSERVATION_COLUMNS), rows), np.nan)
    return dict(zip(OBSERVATION_COLUMNS, blank, strict=True))


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
        return _nothing_seen(len(q_code))
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
        p = pos - offset
        ok = (p >= 0) & (q_code >= 0)
        clipped = np.clip(p, 0, len(order) - 1)
        ok &= s_code[clipped] == q_code
        return (clipped if presorted else order[clipped]), ok

    def column(name: str, rows: np.ndarray, unseen: np.ndarray) -> np.ndarray:
        if name not in values:
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


# -- batch rows (DataFrames) ----------------------------------------------------------------


def draft_rows(videos: pd.DataFrame) -> pd.DataFrame:
    """The draft columns, with optional ones the data lacks present as missing."""
    out = pd.DataFrame({"video_id": videos["video_id"]})
    for name in DRAFT_COLUMNS:
        out[name] = videos[name] if name in videos.columns else np.nan
    return out


def cold_start_history(videos: int) -> pd.DataFrame:
    """The history of ``videos`` videos whose creators have no earlier post."""
    return pd.DataFrame({k: [COLD_START[k]] * videos for k in HISTORY_COLUMNS})


def with_history(drafts: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Draft rows beside their creator's history (row for row): one row per video."""
    return pd.concat(
        [drafts.reset_index(drop=True), history[list(HISTORY_COLUMNS)].reset_index(drop=True)],
        axis=1,
    )


def rows_at_ages(
    per_video: pd.DataFrame, snapshots: pd.DataFrame, ages: np.ndarray, horizon_minutes: float
) -> pd.DataFrame:
    """Each video at its own age (batch scoring: a fixed age, or the age at a timestamp).

    Counts are looked up at the age; past the horizon, at the first count at or after it
    once the age has reached it, else at the horizon (``features.labels.outcome_ages``), so
    that the label's rule decides the row from the counts that bracket the horizon.
    """
    per_video = per_video.reset_index(drop=True)
    ages = np.asarray(ages, dtype="float64")
    first_after = first_count_after(snapshots, per_video["video_id"], horizon_minutes)
    lookup = outcome_ages(ages, first_after, horizon_minutes)
    seen = observe(snapshots, per_video["video_id"], lookup)
    columns = {"age_minutes": ages, **seen}
    # copy=False: the columns are fresh arrays; copying them into consolidated blocks
    # would write every one of the millions of rows a second time
    return pd.DataFrame(
        {name: columns[name] if name in columns else per_video[name] for name in RAW_COLUMNS},
        copy=False,
    )


# -- request rows (columns) -------------------------------------------------------------------


@dataclass(frozen=True)
class SeenCounts:
    """What a request says its audience did: the counts at its age, and likes before."""

    now: Mapping[str, float | None]
    earlier: Sequence[tuple[float, Mapping[str, float | None]]] = ()


def observe_requests(
    seen: Sequence[SeenCounts | None], ages: Sequence[float], horizon_minutes: float
) -> dict[str, np.ndarray]:
    """What each request's counts say at its age, by the look-up training and batch use: one
    array per ``OBSERVATION_COLUMNS`` name, a row per request.

    ``seen[i]`` is None for a draft. Past the horizon the counts are looked up as the
    label's rule reads them (``features.labels.outcome_ages``): the first count at or after
    the horizon with the one before it, or, when none was read after it, the counts before.
    """
    if not any(seen):  # drafts: nothing observed, nothing to look up
        return _nothing_seen(len(seen))
    names = (*OBSERVED_COUNTERS, *OBSERVED_RATES)
    codes: list[int] = []
    values: dict[str, list[float]] = {"age_minutes": [], **{name: [] for name in names}}
    for i, (counts, now) in enumerate(zip(seen, ages, strict=True)):
        if counts is None:
            continue
        snaps = [(now, counts.now), *((a, c) for a, c in counts.earlier if a < now)]
        for snap_age, snap in sorted(snaps, key=lambda s: s[0]):
            codes.append(i)
            values["age_minutes"].append(snap_age)
            for name in names:
                value = snap.get(name)
                values[name].append(np.nan if value is None else float(value))
    snap_ages = np.array(values["age_minutes"], dtype="float64")
    late = (snap_ages >= horizon_minutes) & ~np.isnan(np.array(values["likes"], dtype="float64"))
    first_after = np.full(len(seen), np.nan)
    np.fmin.at(first_after, np.array(codes, dtype=np.int64)[late], snap_ages[late])
    return observe_arrays(
        np.array(codes, dtype=np.int64),
        {k: np.array(v, dtype="float64") for k, v in values.items()},
        np.arange(len(seen), dtype=np.int64),
        outcome_ages(np.array(ages, dtype="float64"), first_after, horizon_minutes),
    )
