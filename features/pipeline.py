"""Raw rows -> the model's feature frame. The one code path for training, batch and serving.

Everything that depends on training data (the category list, the Szabo-Huberman offsets) is
a ``FeatureSpec`` fitted once on the training slice and saved inside the model bundle, so a
served request is transformed exactly as its training examples were.
"""

from __future__ import annotations

import json
import operator
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pyarrow as pa_arrow
import pyarrow.compute as pc
from pandas.api.types import is_numeric_dtype

from features.observations import (
    DRAFT_COLUMNS,
    EXAMPLE_COLUMNS,
    HISTORY_COLUMNS,
    RAW_COLUMNS,
    VIDEO_COLUMNS,
    Grid,
)

# name -> +1 (never lowers the probability as it grows), -1, or 0 (free)
FEATURES: dict[str, int] = {
    "category": 0,
    "duration_log": 0,
    "post_hour": 0,
    "post_weekday": 0,
    "caption_len": 0,
    "hashtag_count": 0,
    "music_trending": 0,
    "followers_log": 0,
    "cold_start": 0,
    "hist_videos": 0,
    # a better track record never lowers the probability: unconstrained, raising a creator's
    # median likes or hit rate lowered some drafts' probability (tests/models/test_behaviour.py)
    "hist_median_likes_log": 1,
    "hist_p90_likes_log": 1,
    "hist_hit_rate": 1,
    "days_since_prev_post": 0,
    "age_minutes": 0,
    "minutes_since_obs": 0,
    "views_log": 1,
    "likes_log": 1,
    "comments_log": 1,
    "shares_log": 1,
    "follows_log": 1,
    "replies_log": 1,
    "completion_rate": 0,
    "retention_3s": 0,
    "likes_per_hour": 1,
    "growth_ratio": 1,
    "projected_likes_log": 1,
    "gap_to_threshold_log": -1,
}

FEATURES_SCHEMA = pa.DataFrameSchema(
    {
        name: pa.Column("category" if name == "category" else "float64", nullable=True)
        for name in FEATURES
    },
    strict=True,
    ordered=True,
)


@dataclass(frozen=True)
class FeatureSpec:
    """What the feature step learned from training data; saved as JSON with the model."""

    categories: tuple[str, ...]
    threshold: int
    horizon_minutes: float
    timezone: str
    sh_ages: tuple[float, ...] = ()
    sh_offsets: tuple[float, ...] = ()
    sh_sigmas: tuple[float, ...] = ()
    features: tuple[str, ...] = field(default_factory=lambda: tuple(FEATURES))
    ages: tuple[float, ...] = ()  # the prediction ages it was trained at

    @property
    def max_age(self) -> float:
        """The oldest age the model answers for; past the horizon the counts answer."""
        return max(self.ages, default=0.0)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> FeatureSpec:
        raw = json.loads(text)
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.items()})

    def sh_offset(self, obs_age: np.ndarray) -> np.ndarray:
        """Szabo-Huberman: ln(1+N_horizon) - ln(1+N_age), interpolated in log-age."""
        return self._interp(obs_age, self.sh_offsets)

    def sh_sigma(self, obs_age: np.ndarray) -> np.ndarray:
        return self._interp(obs_age, self.sh_sigmas)

    # Derived once per spec, not per call: a served request is one row, for which building
    # these small arrays and dicts cost as much as the features themselves.
    @cached_property
    def positions(self) -> dict[str, int]:
        """Each feature's column in the model's matrix."""
        return {name: j for j, name in enumerate(self.features)}

    @cached_property
    def category_lookup(self) -> dict[str, float]:
        return {c: float(i) for i, c in enumerate(self.categories)}

    @cached_property
    def _sh_log_ages(self) -> np.ndarray:
        return np.log1p(np.array(self.sh_ages))

    def _interp(self, obs_age: np.ndarray, values: tuple[float, ...]) -> np.ndarray:
        if not self.sh_ages:
            return np.full(np.shape(obs_age), np.nan)
        x = np.log1p(np.asarray(obs_age, dtype="float64"))
        return np.interp(x, self._sh_log_ages, values)


SPEC_COLUMNS = ("category", "age_minutes", "obs_age_minutes", "likes")  # what fit_spec reads


def fit_spec(
    rows: pd.DataFrame,
    likes_at_horizon: pd.Series,
    threshold: int,
    horizon_minutes: float,
    timezone: str,
    ages: tuple[float, ...],
) -> FeatureSpec:
    """Learn categories and the per-age log-linear offsets from training rows only."""
    categories = tuple(sorted(str(c) for c in pd.unique(rows["category"].dropna())))
    observed = rows["obs_age_minutes"].notna() & likes_at_horizon.notna()
    gap = np.log1p(likes_at_horizon[observed]) - np.log1p(rows.loc[observed, "likes"])
    by_age = pd.DataFrame({"age": rows.loc[observed, "age_minutes"], "gap": gap})
    stats = by_age.groupby("age")["gap"].agg(["mean", "std"]).dropna()
    sh_ages = (*stats.index.astype(float), horizon_minutes)
    offsets = (*stats["mean"].astype(float), 0.0)
    sigmas = (*stats["std"].clip(lower=0.05).astype(float), 0.05)
    order = np.argsort(sh_ages)
    return FeatureSpec(
        categories=categories,
        threshold=threshold,
        horizon_minutes=horizon_minutes,
        timezone=timezone,
        sh_ages=tuple(float(sh_ages[i]) for i in order),
        sh_offsets=tuple(float(offsets[i]) for i in order),
        sh_sigmas=tuple(float(sigmas[i]) for i in order),
        ages=tuple(float(a) for a in sorted(ages)),
    )


# -- raw rows as plain arrays -------------------------------------------------------------
#
# The feature functions work on a dict of numpy arrays, not on DataFrames: a request is one
# row, and pandas costs tens of microseconds per operation whatever the length, which made a
# single prediction take milliseconds. Batch rows (DataFrame) and request rows (dicts) are
# both turned into this one form, then share every line of feature code below.

Raw = dict[str, Any]  # column name -> numpy array (or pandas Categorical)
_TEXT = ("video_id", "creator_id", "category", "caption", "hashtags")
_TIMES = ("posted_at", "hist_last_posted_at")
_NAT = np.iinfo(np.int64).min  # what pandas stores for NaT in int64 nanoseconds
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def raw_arrays(rows: pd.DataFrame, columns: tuple[str, ...] = RAW_COLUMNS) -> Raw:
    """Batch rows -> raw arrays: numbers as float64, times as int64 UTC nanoseconds."""
    missing = [c for c in columns if c not in rows.columns]
    if missing:
        raise ValueError(f"raw rows lack columns {missing}")
    raw: Raw = {}
    for name in columns:
        column = rows[name]
        if name in _TIMES:
            utc = pd.DatetimeIndex(pd.to_datetime(column, utc=True)).as_unit("ns")
            raw[name] = utc.asi8
        elif isinstance(column.dtype, pd.CategoricalDtype):
            raw[name] = column.array  # a Categorical: worked on per category, not per row
        elif name in _TEXT:
            raw[name] = column.array  # Arrow-backed strings stay in Arrow: no Python objects
        elif name == "music_trending":
            flag = column.astype("boolean").astype("Float64")
            raw[name] = flag.to_numpy(dtype="float64", na_value=np.nan)
        else:
            # a numeric column converts in place (float64 is not even copied); only text
            # goes through to_numeric, which copies, to turn what is not a number into NaN
            numeric = (
                column if is_numeric_dtype(column.dtype) else pd.to_numeric(column, errors="coerce")
            )
            raw[name] = numeric.to_numpy(dtype="float64", na_value=np.nan)
    return raw


_OTHER = tuple(c for c in RAW_COLUMNS if c in _TEXT or c in _TIMES)
_NUMERIC = tuple(c for c in RAW_COLUMNS if c not in _OTHER)
_OTHERS, _NUMBERS = operator.itemgetter(*_OTHER), operator.itemgetter(*_NUMERIC)


def raw_records(records: list[dict]) -> Raw:
    """Request rows (dicts with every RAW_COLUMNS key) -> raw arrays, without a DataFrame."""
    raw: Raw = {}
    # one C-level pass each: the records' values in column order, transposed
    numbers = np.array(list(map(_NUMBERS, records)), dtype="float64", order="F")  # None: NaN
    numbers = numbers.reshape(len(records), len(_NUMERIC), order="F")
    for j, name in enumerate(_NUMERIC):
        raw[name] = numbers[:, j]
    others = list(zip(*map(_OTHERS, records), strict=True)) if records else [()] * len(_OTHER)
    for name, values in zip(_OTHER, others, strict=True):
        if name in _TIMES:
            raw[name] = np.array([_nanoseconds(v) for v in values], dtype=np.int64)
        else:
            raw[name] = np.array(values, dtype=object)
    return raw


def _nanoseconds(moment: datetime | None) -> int:
    """A time as int64 nanoseconds since the epoch, the way pandas stores it; NaT if none."""
    if moment is None or moment != moment:  # None, NaT
        return _NAT
    if isinstance(moment, pd.Timestamp):
        return moment.value
    if moment.tzinfo is None:  # naive means UTC, as in the data contract
        moment = moment.replace(tzinfo=UTC)
    return (moment - _EPOCH) // _MICROSECOND * 1000


def _per_video(raw: Raw, codes: np.ndarray) -> Raw:
    """The draft and history columns at each video's first row.

    ``codes`` number the videos in order of first appearance (``pd.factorize``), so a
    video's first row is where the running maximum of the codes grows: no sort needed.
    """
    reached = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[True, reached[1:] > reached[:-1]])
    return {k: raw[k][first] for k in (*DRAFT_COLUMNS, *HISTORY_COLUMNS)}


# The feature functions run under ``np.errstate(divide="ignore", invalid="ignore")``, set
# once by ``feature_matrix``: a zero or missing input is meant to give inf/NaN here.


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    return np.where(denominator > 0, numerator / denominator, np.nan)


def _filled(values: np.ndarray, fill: float) -> np.ndarray:
    """NaN replaced by ``fill``; np.nan_to_num does the same at several times the cost."""
    return np.where(np.isnan(values), fill, values)


def _text(values: Any) -> pa_arrow.Array:
    if hasattr(values, "__arrow_array__"):  # pandas' Arrow strings: hand over the buffers
        text = pa_arrow.array(values)
        return text.combine_chunks() if isinstance(text, pa_arrow.ChunkedArray) else text
    # from_pandas: NaN in an object column is missing text, not a number
    return pa_arrow.array(
        np.asarray(values, dtype=object), type=pa_arrow.string(), from_pandas=True
    )


def _floats(counts: pa_arrow.Array) -> np.ndarray:
    return counts.cast(pa_arrow.float64()).to_numpy(zero_copy_only=False)  # null -> NaN


# Text is counted by Arrow (native, no Python per row) except for the few rows of a
# request, where one Arrow call costs more than a Python loop. Both use the same token
# pattern, spelled out so that Python's and Arrow's regex engines agree on "whitespace".
_TOKEN = r"[^ \t\n\r\f\v,]+"
_TOKEN_RE = re.compile(_TOKEN)
_FEW = 64


def _missing(value: object) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value))


def _per_category(count: Callable[[Any], np.ndarray], values: pd.Categorical) -> np.ndarray:
    """A text count of each distinct text once, spread to the rows by their codes."""
    per_text = count(values.categories.to_numpy(dtype=object))
    return np.append(per_text, np.nan)[values.codes]  # code -1 (missing) takes the NaN


def _token_count(values: Any) -> np.ndarray:
    """Space- or comma-separated tokens (hashtags)."""
    if isinstance(values, pd.Categorical):
        return _per_category(_token_count, values)
    if len(values) < _FEW:
        counts = [np.nan if _missing(v) else len(_TOKEN_RE.findall(v)) for v in values]
        return np.array(counts, dtype="float64")
    return _floats(pc.count_substring_regex(_text(values), pattern=_TOKEN))


def _char_count(values: Any) -> np.ndarray:
    if isinstance(values, pd.Categorical):
        return _per_category(_char_count, values)
    if len(values) < _FEW:
        return np.array([np.nan if _missing(v) else len(v) for v in values], dtype="float64")
    return _floats(pc.utf8_length(_text(values)))


def category_codes(values: object, spec: FeatureSpec) -> np.ndarray:
    """Codes in the training category list as float; unseen or missing -> NaN, no error."""
    lookup = spec.category_lookup
    if isinstance(values, pd.Categorical):
        known = np.array([lookup.get(str(c), np.nan) for c in values.categories] + [np.nan])
        return known[values.codes]  # code -1 (missing) takes the trailing NaN
    if len(values) < _FEW:  # a request: a dict lookup beats building a hash table
        return np.array([lookup.get(v, np.nan) for v in values], dtype="float64")
    codes = pd.Index(list(spec.categories)).get_indexer(np.asarray(values, dtype=object))
    return np.where(codes >= 0, codes, np.nan)


def _utc_offsets_ns(utc_ns: np.ndarray, zone: str) -> np.ndarray:
    """The zone's UTC offset at each instant (DST included), in nanoseconds."""
    if len(utc_ns) < _FEW:  # a request: zoneinfo per row beats building a DatetimeIndex
        tz = ZoneInfo(zone)
        offsets = [datetime.fromtimestamp(t // 10**9, tz).utcoffset() for t in utc_ns.tolist()]
        return np.array([o // timedelta(microseconds=1) * 1000 for o in offsets], dtype=np.int64)
    utc = pd.DatetimeIndex(utc_ns.view("datetime64[ns]")).tz_localize("UTC")
    return utc.tz_convert(zone).tz_localize(None).asi8 - utc_ns


def _local_clock(utc_ns: np.ndarray, zone: str) -> tuple[np.ndarray, np.ndarray]:
    """(hour of day with minutes as a fraction, weekday Monday=0) on the local wall clock."""
    local = utc_ns + _utc_offsets_ns(utc_ns, zone)
    minutes = local // 60_000_000_000
    hour = (minutes % 1440) / 60.0
    weekday = (local // 86_400_000_000_000 + 3) % 7  # 1970-01-01 was a Thursday
    return hour.astype("float64"), weekday.astype("float64")


def draft_features(raw: Raw, spec: FeatureSpec) -> dict[str, np.ndarray]:
    """What a creator knows before posting: content, timing, audience."""
    hour, weekday = _local_clock(raw["posted_at"], spec.timezone)
    return {
        "category": category_codes(raw["category"], spec),
        "duration_log": np.log(raw["duration_s"]),
        "post_hour": hour,
        "post_weekday": weekday,
        "caption_len": _char_count(raw["caption"]),
        "hashtag_count": _token_count(raw["hashtags"]),
        "music_trending": raw["music_trending"],
        "followers_log": np.log1p(raw["creator_followers"]),
    }


def history_features(raw: Raw, spec: FeatureSpec) -> dict[str, np.ndarray]:
    """The creator's track record; a cold-start creator is flagged, its statistics missing."""
    videos = _filled(raw["hist_videos"], 0.0)
    posted, last = raw["posted_at"], raw["hist_last_posted_at"]
    known = (posted != _NAT) & (last != _NAT)
    since = np.where(known, (posted - last) / 86_400e9, np.nan)
    return {
        "cold_start": (videos == 0).astype("float64"),
        "hist_videos": videos,
        "hist_median_likes_log": np.log1p(raw["hist_median_likes"]),
        "hist_p90_likes_log": np.log1p(raw["hist_p90_likes"]),
        "hist_hit_rate": raw["hist_hit_rate"],
        "days_since_prev_post": since,
    }


def engagement_features(raw: Raw, spec: FeatureSpec) -> Iterator[tuple[str, np.ndarray]]:
    """What the platform's audience did by the prediction age; all missing for a draft.

    Yielded one feature at a time: for training each is an array of millions of rows, and
    ``feature_matrix`` writes each into the matrix before the next is computed, so one is
    alive at a time instead of all twenty (memory this VM is slow to hand out).
    """
    age, obs_age, likes = raw["age_minutes"], raw["obs_age_minutes"], raw["likes"]
    yield "age_minutes", age
    yield "minutes_since_obs", age - obs_age
    for counter in ("views", "likes", "comments", "shares", "follows", "replies"):
        yield f"{counter}_log", np.log1p(raw[counter])
    # No counts per view (likes per view and the like): at the same likes, more views would
    # be a lower rate and could lower the probability, breaking the promise that more views
    # never do. Dropping them cost nothing measurable (50k videos: test AUC 0.9749 ->
    # 0.9744, log loss 0.0960 -> 0.0943); completion and 3-second retention stay, as the
    # audience's own rates.
    yield "completion_rate", raw["completion_rate"]
    yield "retention_3s", raw["retention_3s"]
    lag1_age, lag1_likes = raw["lag1_age_minutes"], raw["lag1_likes"]
    lag2_age, lag2_likes = raw["lag2_age_minutes"], raw["lag2_likes"]
    speed = _ratio(likes - lag1_likes, (obs_age - lag1_age) / 60.0)
    yield "likes_per_hour", speed
    before = _ratio(lag1_likes - lag2_likes, (lag1_age - lag2_age) / 60.0)
    yield "growth_ratio", np.log1p(np.maximum(speed, 0)) - np.log1p(np.maximum(before, 0))
    del speed, before
    projected = np.log1p(likes) + spec.sh_offset(_filled(obs_age, 1.0))
    yield "projected_likes_log", np.where(np.isnan(likes), np.nan, projected)
    yield "gap_to_threshold_log", np.log1p(spec.threshold) - np.log1p(likes)


def feature_matrix(
    raw: Raw,
    spec: FeatureSpec,
    videos: tuple[Raw, np.ndarray] | None = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """The model's input matrix, columns in the spec's order, categories as float codes.

    Rows that share a ``video_id`` share their draft and history (a video seen at several
    ages), so those features are computed once per video and broadcast: training rows repeat
    each video once per prediction age, and text work per row would dominate the cost.
    ``videos`` hands them over already apart: the draft and history columns once per video,
    and each row's video (a ``Grid``); ``raw`` then needs only the observation columns.
    ``out``, if given, is the matrix to fill (a block of rows of a larger one).
    """
    if videos is None:
        ids = raw["video_id"]
        codes = np.zeros(1, dtype=np.int64) if len(ids) == 1 else pd.factorize(ids)[0]
        once = len(codes) == 0 or codes.max() == len(codes) - 1
        per_video = raw if once else _per_video(raw, codes)
    else:
        (per_video, codes), once = videos, False
    # column-major: each feature is written as one contiguous run
    shape = (len(codes), len(spec.features))
    matrix = np.empty(shape, dtype="float64", order="F") if out is None else out
    if matrix.shape != shape:
        raise ValueError(f"out has shape {matrix.shape}, the features need {shape}")
    column = spec.positions
    written = set()
    with np.errstate(divide="ignore", invalid="ignore"):
        static = {**draft_features(per_video, spec), **history_features(per_video, spec)}
        for name, values in static.items():
            if name in column:
                if once:
                    matrix[:, column[name]] = values
                else:  # per video -> per row, straight into the matrix
                    # mode="clip": codes are in range, and "raise" would buffer the copy
                    np.take(values, codes, out=matrix[:, column[name]], mode="clip")
                written.add(name)
        for name, values in engagement_features(raw, spec):
            if name in column:
                matrix[:, column[name]] = values
                written.add(name)
    if len(written) != len(column):
        raise ValueError(f"features not computed: {sorted(set(column) - written)}")
    return matrix


def feature_frame(
    matrix: np.ndarray, spec: FeatureSpec, index: pd.Index | None = None
) -> pd.DataFrame:
    """The matrix as a typed frame (category back to its labels), checked by the schema.

    Category leads the feature list, so the float columns are one zero-copy slice of the
    column-major matrix and the frame costs no copy of the data.
    """
    if spec.features[0] != "category":
        raise ValueError(f"feature list must start with category, got {spec.features[0]}")
    frame = pd.DataFrame(matrix[:, 1:], columns=list(spec.features[1:]), index=index, copy=False)
    codes = np.nan_to_num(matrix[:, 0], nan=-1).astype("int64")
    frame.insert(0, "category", pd.Categorical.from_codes(codes, list(spec.categories)))
    return FEATURES_SCHEMA.validate(frame, inplace=True)


def build_features(rows: pd.DataFrame, spec: FeatureSpec) -> pd.DataFrame:
    """Batch rows -> the model's feature frame; unseen categories become missing."""
    return feature_frame(feature_matrix(raw_arrays(rows), spec), spec, rows.index)


def build_grid_features(grid: Grid, spec: FeatureSpec, threads: int) -> pd.DataFrame:
    """The training examples' feature frame: equal to ``build_features(grid.rows(), spec)``
    (tested), without the flat rows.

    The videos are split into ``threads`` runs whose rows are built at once, each into its
    own block of the matrix: numpy and Arrow release the GIL in their loops, and on this VM
    about half the time is the kernel handing out the matrix's memory, which two threads
    also get twice as fast.
    """
    videos = raw_arrays(grid.videos, VIDEO_COLUMNS)
    observed = raw_arrays(grid.observed, EXAMPLE_COLUMNS)
    matrix = np.empty((len(grid), len(spec.features)), dtype="float64", order="F")

    def build(first: int, last: int) -> None:
        rows = slice(first * grid.ages, last * grid.ages)
        codes = np.repeat(np.arange(last - first), grid.ages)
        part = {name: values[first:last] for name, values in videos.items()}
        observed_part = {name: values[rows] for name, values in observed.items()}
        feature_matrix(observed_part, spec, (part, codes), out=matrix[rows])

    bounds = np.linspace(0, len(grid.videos), max(threads, 1) + 1).astype(int)
    with ThreadPoolExecutor(max(threads, 1)) as pool:
        list(pool.map(build, bounds[:-1], bounds[1:]))  # list(): re-raises a thread's error
    return feature_frame(matrix, spec, grid.observed.index)
