"""The label: did a video's likes at its horizon reach the threshold?

One rule for every crawl, daily, hourly or irregular, and for every path that reads counts
(training labels, ``evaluate``, batch scoring and the API's ``reached``/``decided``). Likes
never decrease, so with threshold T and horizon H (minutes after posting):

1. **reached** when any count at or before H is at or above T;
2. **missed** when the first count at or after H is below T (likes at H were at most that);
3. otherwise, when a count after H is at or above T, likes at H are **interpolated**
   linearly in time between the last count before H and that first count after it; the
   posting itself is a count of 0 likes at age 0, so a video first crawled after H is
   interpolated from its posting ("from posting") rather than called a miss or dropped;
4. otherwise (every count lies before H and below T, or there is none) it is **unlabeled**:
   a crawl that stopped early can never masquerade as a flop.

Training and evaluation also give the moment the data ends (``observed_until``): a video
whose horizon comes after it could only be labeled a hit (its miss cannot be seen yet), so
it stays unlabeled (rule ``CENSORED``) however many likes it shows; otherwise the latest
videos, the test slice, would hold their hits and not their misses.

Linear interpolation is exact for a steady pace and a lower bound for a decelerating one
(the usual shape of a video's likes), so a wide bracket leans towards "missed"; the
``rule`` column says which case labeled each video, so that a user can drop the wide ones.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

# The case of the rule that labeled each video (``label_videos``' ``rule`` column).
REACHED = "reached"  # a count by the horizon at or above the threshold
REACHED_THEN_UNSEEN = "reached, then unseen"  # the same, with no count at or after H
MISSED = "missed"  # the first count at or after the horizon below the threshold
INTERPOLATED = "interpolated"  # between the last count before H and the first after
FROM_POSTING = "from posting"  # between posting (0 likes) and the first count after H
UNLABELED = "unlabeled"
CENSORED = "censored"  # reached, but its horizon comes after the data's end: unlabeled
RULES = (REACHED, REACHED_THEN_UNSEEN, MISSED, INTERPOLATED, FROM_POSTING, UNLABELED, CENSORED)


def label_videos(
    videos: pd.DataFrame,
    snapshots: pd.DataFrame,
    threshold: int,
    horizon_minutes: float,
    *,
    observed_until: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """One row per video: likes_at_horizon, labeled, label (NaN where unlabeled), rule.

    ``likes_at_horizon`` is the count at the horizon, interpolated between the counts that
    bracket it; for a video reached by the horizon and never counted after it, the last
    count by the horizon (a lower bound, rule ``REACHED_THEN_UNSEEN``); NaN where unlabeled.
    With ``observed_until`` (the data's end), a video whose horizon comes after it is
    unlabeled (``CENSORED``): only its hit could have been seen.
    """
    index = pd.Index(videos["video_id"])
    code = index.get_indexer(snapshots["video_id"])
    ages = snapshots["age_minutes"].to_numpy(dtype="float64")
    likes = snapshots["likes"].to_numpy(dtype="float64", na_value=np.nan)
    known = (code >= 0) & ~np.isnan(likes)
    code, ages, likes = code[known], ages[known], likes[known]
    n, horizon = len(index), horizon_minutes

    # the most likes by the horizon, and the last count before it (for the bracket)
    by_h = ages <= horizon
    most_by = np.full(n, -np.inf)
    np.maximum.at(most_by, code[by_h], likes[by_h])
    before_age, before_likes = _extreme(code, ages, likes, n, ages < horizon, last=True)
    after_age, after_likes = _extreme(code, ages, likes, n, ages >= horizon, last=False)

    has_after = ~np.isnan(after_age)
    start_age = np.where(np.isnan(before_age), 0.0, before_age)  # posting: 0 likes at 0
    start_likes = np.where(np.isnan(before_likes), 0.0, before_likes)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(
            after_age > start_age, (horizon - start_age) / (after_age - start_age), 1.0
        )
    at_horizon = np.where(has_after, start_likes + (after_likes - start_likes) * share, np.nan)

    reached = most_by >= threshold
    missed = ~reached & has_after & (after_likes < threshold)
    bracketed = ~reached & ~missed & has_after
    rule = np.full(n, UNLABELED, dtype=object)
    rule[reached & has_after] = REACHED
    rule[reached & ~has_after] = REACHED_THEN_UNSEEN
    rule[missed] = MISSED
    rule[bracketed] = np.where(np.isnan(before_age[bracketed]), FROM_POSTING, INTERPOLATED)
    at_horizon = np.where(reached & ~has_after, most_by, at_horizon)
    if observed_until is not None and n:
        closes = videos["posted_at"] + pd.Timedelta(minutes=horizon_minutes)
        censored = reached & ~has_after & (closes > observed_until).to_numpy()
        rule[censored] = CENSORED
        reached &= ~censored
    labeled = reached | has_after
    label = np.where(reached, 1.0, np.where(has_after, (at_horizon >= threshold) * 1.0, np.nan))
    return pd.DataFrame(
        {
            "video_id": videos["video_id"].to_numpy(),
            "likes_at_horizon": np.where(labeled, at_horizon, np.nan),
            "labeled": labeled,
            "label": label,
            "rule": pd.Categorical(rule, categories=RULES),
        }
    )


def _extreme(
    code: np.ndarray,
    ages: np.ndarray,
    likes: np.ndarray,
    n: int,
    where: np.ndarray,
    last: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Each video's last (or first) count among ``where``: its age and likes, NaN if none."""
    code, ages, likes = code[where], ages[where], likes[where]
    if not _in_order(code, ages):  # the loader leaves them in order: then no sort at all
        order = np.lexsort((ages, code))
        code, ages, likes = code[order], ages[order], likes[order]
    if len(code):
        edge = np.r_[code[1:] != code[:-1], True] if last else np.r_[True, code[1:] != code[:-1]]
    else:
        edge = np.zeros(0, dtype=bool)
    out_age, out_likes = np.full(n, np.nan), np.full(n, np.nan)
    out_age[code[edge]], out_likes[code[edge]] = ages[edge], likes[edge]
    return out_age, out_likes


def _in_order(major: np.ndarray, minor: np.ndarray) -> bool:
    """Sorted by (major, minor) already?"""
    step = np.diff(major)
    return bool(np.all((step > 0) | ((step == 0) & (np.diff(minor) >= 0))))


def outcome_ages(
    ages: np.ndarray, first_after_minutes: np.ndarray, horizon_minutes: float
) -> np.ndarray:
    """The age at which each row's counts are looked up, so that ``known_outcome`` can
    apply the label's rule to them.

    Before the horizon, the row's own age. Past it, the first count at or after the horizon
    (``first_after_minutes``, NaN where the video has none) once the row's age has reached
    it: that count and the one before it bracket the horizon. Otherwise the horizon itself:
    what happens after the horizon is not evidence about it until a count says so.
    """
    ages = np.asarray(ages, dtype="float64")
    first = np.asarray(first_after_minutes, dtype="float64")
    with np.errstate(invalid="ignore"):
        seen = first <= ages
    return np.where(seen, first, np.minimum(ages, horizon_minutes))


def first_count_after(
    snapshots: pd.DataFrame, video_ids: pd.Series, horizon_minutes: float
) -> np.ndarray:
    """Each video's first count age at or after the horizon (NaN where it has none)."""
    late = snapshots[(snapshots["age_minutes"] >= horizon_minutes) & snapshots["likes"].notna()]
    first = late.groupby(late["video_id"].astype(object), sort=False)["age_minutes"].min()
    return _lookup(first, video_ids)


def _lookup(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """``values`` at each of ``keys`` (NaN where absent)."""
    where = pd.Index(values.index).get_indexer(keys.astype(object))
    out = np.r_[values.to_numpy(dtype="float64"), np.nan][where]  # -1 reads the NaN
    return np.asarray(out, dtype="float64")


def known_outcome(
    likes: np.ndarray,
    obs_age_minutes: np.ndarray,
    age_minutes: np.ndarray,
    threshold: int,
    horizon_minutes: float,
    *,
    lag_likes: np.ndarray,
    lag_age_minutes: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """(reached, decided) for each row: what its counts alone already settle, by the label's
    rule (the module's docstring).

    Each row's latest count (``likes`` at ``obs_age_minutes``) and the count before it
    (``lag_*``, NaN if none: then posting's 0 likes at age 0) are those looked up at
    ``outcome_ages``: the latest count at or before the row's age, or before the horizon,
    unless the row has seen a count at or after the horizon, which is then the latest.

    - reached: a count at or before the horizon at or above the threshold, or a count after
      it whose interpolation with the count before reaches the threshold at the horizon;
    - decided: reached, or missed (a count at or after the horizon below the threshold, or
      an interpolation below it). A row at or past the horizon whose counts all lie before
      it and below the threshold is *not* decided: its outcome is unknown, as its label is.
    A row without counts settles nothing; the rest are the model's to answer.
    ``age_minutes`` is kept for the callers' sake: the counts alone decide.
    """
    del age_minutes  # the rule reads counts, not the clock (a row's age sets its look-up)
    likes = np.asarray(likes, dtype="float64")
    counted = ~np.isnan(likes)
    if not counted.any():  # drafts: nothing is settled (and a request's path stays short)
        return counted, counted
    seen_at = np.asarray(obs_age_minutes, dtype="float64")
    before_age = np.asarray(lag_age_minutes, dtype="float64")
    before_likes = np.asarray(lag_likes, dtype="float64")
    no_lag = np.isnan(before_age) | np.isnan(before_likes)
    before_age = np.where(no_lag, 0.0, before_age)
    before_likes = np.where(no_lag, 0.0, before_likes)
    with np.errstate(invalid="ignore", divide="ignore"):
        by_horizon = counted & (seen_at <= horizon_minutes)
        after = counted & (seen_at >= horizon_minutes)
        reached = by_horizon & (likes >= threshold)
        reached |= (before_age <= horizon_minutes) & (before_likes >= threshold) & ~no_lag
        missed = after & (likes < threshold)
        # a lag past the horizon too: below the threshold it settles a miss on its own
        missed |= after & ~no_lag & (before_age >= horizon_minutes) & (before_likes < threshold)
        share = (horizon_minutes - before_age) / (seen_at - before_age)
        at_horizon = before_likes + (likes - before_likes) * share
        bracket = after & ~reached & ~missed & (seen_at > horizon_minutes)
        bracket &= before_age < horizon_minutes
        reached |= bracket & (at_horizon >= threshold)
        missed |= bracket & (at_horizon < threshold)
    return reached, reached | missed


def with_known_outcomes(
    probability: np.ndarray, reached: np.ndarray, decided: np.ndarray
) -> np.ndarray:
    """The model's probabilities, each decided row replaced by its outcome (1 or 0)."""
    return np.where(decided, reached.astype("float64"), probability)
